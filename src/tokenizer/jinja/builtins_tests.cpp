// Jinja tests (`x is defined`, `n is divisibleby 3`), as Jinja2 defines them in Python.
// Python quirks kept on purpose: a bool is a number, undefined is iterable and a sequence.
#include <unordered_map>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/py_string.h"
#include "tokenizer/jinja/template_error.h"

namespace rf::jinja {

namespace {

TestFn no_arg(const char* what, bool (*pred)(const Value&)) {
    return [what, pred](const Value& v, Args& args) {
        BoundArgs(args, what, {});
        return pred(v);
    };
}

TestFn compare_test(const char* what, bool (*cmp)(const Value&, const Value&)) {
    return [what, cmp](const Value& v, Args& args) {
        BoundArgs a(args, what, {"other"});
        return cmp(v, a[0]);
    };
}

std::unordered_map<std::string_view, TestFn> make_tests() {
    std::unordered_map<std::string_view, TestFn> t;
    t["defined"] = no_arg("test 'defined'", [](const Value& v) { return !v.is_undefined(); });
    t["undefined"] = no_arg("test 'undefined'", [](const Value& v) { return v.is_undefined(); });
    t["none"] = no_arg("test 'none'", [](const Value& v) { return v.is_none(); });
    t["boolean"] = no_arg("test 'boolean'", [](const Value& v) { return v.is_bool(); });
    t["true"] = no_arg("test 'true'", [](const Value& v) { return v.is_bool() && v.as_bool(); });
    t["false"] = no_arg("test 'false'", [](const Value& v) { return v.is_bool() && !v.as_bool(); });
    t["string"] = no_arg("test 'string'", [](const Value& v) { return v.is_string(); });
    t["number"] = no_arg("test 'number'", [](const Value& v) { return v.is_number(); });
    t["integer"] = no_arg("test 'integer'", [](const Value& v) { return v.is_int(); });
    t["float"] = no_arg("test 'float'", [](const Value& v) { return v.is_float(); });
    t["mapping"] = no_arg("test 'mapping'", [](const Value& v) { return v.is_dict(); });
    t["iterable"] = no_arg("test 'iterable'", [](const Value& v) { return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined(); });
    t["sequence"] = no_arg("test 'sequence'", [](const Value& v) { return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined(); });
    t["callable"] = no_arg("test 'callable'", [](const Value& v) { return v.is_function(); });
    t["lower"] = no_arg("test 'lower'", [](const Value& v) {
        const std::string s = to_str(v);
        return py::lower(s) == s && py::upper(s) != s;
    });
    t["upper"] = no_arg("test 'upper'", [](const Value& v) {
        const std::string s = to_str(v);
        return py::upper(s) == s && py::lower(s) != s;
    });
    auto parity = [](const Value& v, const char* what) {
        if (!v.is_int() && !v.is_bool()) throw_error("test '{}' needs an integer, got {}", what, type_name(v));
        return ((v.int_value() % 2) + 2) % 2;
    };
    t["odd"] = [parity](const Value& v, Args& args) {
        BoundArgs(args, "test 'odd'", {});
        return parity(v, "odd") == 1;
    };
    t["even"] = [parity](const Value& v, Args& args) {
        BoundArgs(args, "test 'even'", {});
        return parity(v, "even") == 0;
    };
    t["divisibleby"] = [](const Value& v, Args& args) {
        BoundArgs a(args, "test 'divisibleby'", {"num"});
        const int64_t n = a.get_int(0, 1);
        if (n == 0) throw_error("test 'divisibleby': division by zero");
        if (!v.is_int() && !v.is_bool()) throw_error("test 'divisibleby' needs an integer, got {}", type_name(v));
        return v.int_value() % n == 0;
    };
    const TestFn eq = compare_test("test 'eq'", [](const Value& a, const Value& b) { return equals(a, b); });
    const TestFn ne = compare_test("test 'ne'", [](const Value& a, const Value& b) { return !equals(a, b); });
    const TestFn lt = compare_test("test 'lt'", [](const Value& a, const Value& b) { return less_than(a, b); });
    const TestFn le = compare_test("test 'le'", [](const Value& a, const Value& b) { return !less_than(b, a); });
    const TestFn gt = compare_test("test 'gt'", [](const Value& a, const Value& b) { return less_than(b, a); });
    const TestFn ge = compare_test("test 'ge'", [](const Value& a, const Value& b) { return !less_than(a, b); });
    for (const char* name : {"eq", "equalto", "=="}) t[name] = eq;
    for (const char* name : {"ne", "!="}) t[name] = ne;
    for (const char* name : {"lt", "lessthan", "<"}) t[name] = lt;
    for (const char* name : {"le", "<="}) t[name] = le;
    for (const char* name : {"gt", "greaterthan", ">"}) t[name] = gt;
    for (const char* name : {"ge", ">="}) t[name] = ge;
    t["sameas"] = compare_test("test 'sameas'", [](const Value& a, const Value& b) {
        if (a.identity() || b.identity()) return a.identity() == b.identity();
        return a.kind() == b.kind() && equals(a, b);  // None, True, small ints: Python singletons
    });
    t["in"] = [](const Value& v, Args& args) {
        BoundArgs a(args, "test 'in'", {"seq"});
        return contains(a[0], v);
    };
    return t;
}

}  // namespace

const TestFn* find_test(std::string_view name) {
    static const std::unordered_map<std::string_view, TestFn> tests = make_tests();
    const auto it = tests.find(name);
    return it == tests.end() ? nullptr : &it->second;
}

}  // namespace rf::jinja
