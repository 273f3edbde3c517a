// Jinja errors: syntax errors, unknown filters/tests/tags, runtime type errors and
// raise_exception all throw rf::Error naming the template, the line, the column and the cause.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "jinja_test_util.h"
#include "tokenizer/jinja/chat_template.h"

namespace rf::jinja::test {
namespace {

// The message of the rf::Error that rendering throws ("" when nothing is thrown).
std::string error_of(const std::string& tmpl, const std::string& context = "{}") {
    try {
        render_chat_template(tmpl, nlohmann::ordered_json::parse(context));
    } catch (const rf::Error& e) {
        return e.what();
    }
    return "";
}

TEST(JinjaErrors, SyntaxErrorNamesLineAndColumn) {
    EXPECT_EQ(error_of("line one\n{{ foo( }}"), "chat template line 2, column 9: unexpected '}', expected ')'");
    EXPECT_EQ(error_of("{{ 1 + }}"), "chat template line 1, column 8: unexpected '}}', expected an expression");
    EXPECT_EQ(error_of("{% if x %}\n  {% for y in z %}\n"),
              "chat template line 2, column 6: 'for' tag is never closed (expected {% endfor %})");
    EXPECT_EQ(error_of("{{ 'abc }}"), "chat template line 1, column 4: unterminated string literal");
    EXPECT_EQ(error_of("ok\n\n   {{ a ? b }}"), "chat template line 3, column 9: unexpected character '?'");
    EXPECT_EQ(error_of("{# never closed"), "chat template line 1, column 1: missing end of comment tag '#}'");
    EXPECT_EQ(error_of("{{ x"), "chat template line 1, column 3: unexpected end of template, expected '}}'");
}

TEST(JinjaErrors, UnknownTagFilterTest) {
    EXPECT_EQ(error_of("{% frob %}"), "chat template line 1, column 4: unknown tag 'frob'");
    EXPECT_EQ(error_of("{% endif %}"), "chat template line 1, column 4: unexpected 'endif': no block is open");
    // Unknown filters and tests fail at parse time, even in a branch that never runs (Jinja2 too).
    EXPECT_EQ(error_of("{% if false %}\n\n  {{ messages | foo }}{% endif %}"),
              "chat template line 3, column 17: unknown filter 'foo'");
    EXPECT_EQ(error_of("{{ x is frobbed }}"), "chat template line 1, column 9: unknown test 'frobbed'");
    EXPECT_EQ(error_of("{% break %}"), "chat template line 1, column 4: 'break' outside of a for loop");
    EXPECT_EQ(error_of("{% for x in y %}{% endif %}"), "chat template line 1, column 20: unexpected 'endif', expected 'endfor'");
}

TEST(JinjaErrors, RaiseExceptionCarriesTheMessage) {
    const std::string tmpl =
        "{%- for message in messages %}\n"
        "    {%- if message.role not in ['user', 'assistant'] %}\n"
        "        {{- raise_exception('Unsupported role: ' + message.role) }}\n"
        "    {%- endif %}\n"
        "{%- endfor %}";
    EXPECT_EQ(error_of(tmpl, R"({"messages": [{"role": "user"}, {"role": "robot"}]})"),
              "chat template line 3, column 13: template raised an exception: Unsupported role: robot");
}

TEST(JinjaErrors, RuntimeErrors) {
    EXPECT_EQ(error_of("{{ 'a' + 1 }}"), "chat template line 1, column 8: unsupported operand type(s) for +: 'str' and 'int'");
    EXPECT_EQ(error_of("{{ 1 // 0 }}"), "chat template line 1, column 6: division by zero");
    EXPECT_EQ(error_of("{{ foo() }}"), "chat template line 1, column 4: 'foo' is undefined (cannot call it)");
    EXPECT_EQ(error_of("{{ 'abc'() }}"), "chat template line 1, column 4: 'str' object is not callable");
    EXPECT_EQ(error_of("{% set x = 1 %}{% set x.y = 2 %}"),
              "chat template line 1, column 23: cannot assign attribute 'y' on a int (only on namespace() objects)");
    EXPECT_EQ(error_of("{{ 5 | length }}"), "chat template line 1, column 8: object of type 'int' has no len()");
    EXPECT_EQ(error_of("{{ x + 1 }}"), "chat template line 1, column 6: 'x' is undefined");
    EXPECT_EQ(error_of("{% for a, b in [1] %}{% endfor %}"), "chat template line 1, column 8: unpacking: 'int' object is not iterable");
    EXPECT_EQ(error_of("{{ [1].append(2) }}"),
              "chat template line 1, column 7: list.append() is not available: chat templates render in an immutable sandbox "
              "(as in transformers), use namespace() for state (cannot call it)");
    EXPECT_EQ(error_of("{{ 'x'.split(1) }}"), "chat template line 1, column 7: str.split(): argument 'sep' must be a string, not int");
    EXPECT_EQ(error_of("{{ 9223372036854775807 + 1 }}"),
              "chat template line 1, column 24: integer overflow (rocmforge's Jinja integers are 64-bit)");
}

TEST(JinjaErrors, RunawayRecursionIsAnErrorNotACrash) {
    const std::string message = error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
    EXPECT_NE(message.find("calls nested more than 256 deep"), std::string::npos) << message;
    const std::string deep = std::string(5000, '(') + "1" + std::string(5000, ')');
    EXPECT_NE(error_of("{{ " + deep + " }}").find("nested too deeply"), std::string::npos);
    std::string deep_blocks;
    for (int i = 0; i < 5000; ++i) deep_blocks += "{% if true %}";
    EXPECT_NE(error_of(deep_blocks).find("nested too deeply"), std::string::npos);
}

TEST(JinjaErrors, HugeIndicesAreOutOfRangeNotACrash) {
    EXPECT_EQ(render("[{{ l.99999999999999999999 }}]", R"({"l": [1]})"), "[]");
    EXPECT_EQ(render("[{{ l[99999999999999] }}]", R"({"l": [1]})"), "[]");
    EXPECT_EQ(error_of("{{ '{99999999999999999999999}'.format(1) }}"),
              "chat template line 1, column 31: str.format(): bad field '{99999999999999999999999}'");
}

TEST(JinjaErrors, ContextMustBeAnObject) {
    EXPECT_THROW(render_chat_template("x", nlohmann::ordered_json::array()), rf::Error);
    EXPECT_THROW(Template("x").render(nlohmann::ordered_json(3)), rf::Error);
}

}  // namespace
}  // namespace rf::jinja::test
