// Reference token ids from @huggingface/tokenizers (an independent JS implementation of the
// Hugging Face tokenizers) for the C++ tokenizer tests (tests/unit/tokenizer_reference_test.cpp).
//
//   node tokenize_reference.mjs            writes tests/fixtures/tokenizer/<name>.json
//   node tokenize_reference.mjs --check    regenerates in memory, exits 1 if a committed fixture
//                                          differs (ctest runs this: tests/scripts/tokenizer_reference.cmake)
// Exits 77 (ctest: skipped) when ../shared or node_modules (npm ci) is missing.
//
// Inputs come from ../shared (or $ROCMFORGE_SHARED_DIR): the real Qwen3 tokenizer
// (tokenizers/qwen3), the tiny model's tokenizer (models/tiny-qwen3) and text/heldout.txt.
// Each fixture holds { tokenizer, cases: [{ name, text, ids }], heldout: { bytes, n_tokens, fnv1a64 } }:
// the cases are encoded with add_special_tokens = false (added tokens in the text are still
// recognised, as the Rust library does); `heldout` fingerprints the ids of the whole held-out
// file (FNV-1a 64 over each id as 4 little-endian bytes) so the C++ test can check all of it
// without committing 100k ids.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const shared = process.env.ROCMFORGE_SHARED_DIR ?? path.resolve(repo, "..", "shared");
const out_dir = path.join(repo, "tests", "fixtures", "tokenizer");
const check = process.argv.includes("--check");

if (!fs.existsSync(path.join(shared, "text", "heldout.txt"))) {
    console.error(`skipped: ${shared} not found (set ROCMFORGE_SHARED_DIR)`);
    process.exit(77);
}
let Tokenizer;
try {
    ({ Tokenizer } = await import("@huggingface/tokenizers"));
} catch (e) {
    console.error(`skipped: @huggingface/tokenizers is not installed (cd tests/node && npm ci): ${e.message}`);
    process.exit(77);
}

const tokenizers = [
    { name: "qwen3_reference", dir: path.join(shared, "tokenizers", "qwen3") },
    { name: "tiny_qwen3_reference", dir: path.join(shared, "models", "tiny-qwen3") },
];

const heldout = fs.readFileSync(path.join(shared, "text", "heldout.txt"), "utf8");

function digits(n) {
    let s = "";
    for (let i = 0; i < n; i++) s += String((i + 1) % 10);
    return s;
}

// name -> text. Every text is valid Unicode (JSON cannot carry invalid UTF-8; the C++ tests
// cover invalid bytes with round trips).
const corpus = [
    ["empty", ""],
    ["english_prose",
        "The quick brown fox jumps over the lazy dog. It wasn't the first time; the fox had done " +
        "this before, and it would do so again.\nMeanwhile, Dr. Smith (age 42) said: \"Don't worry!\""],
    ["python_code",
        "def fib(n: int) -> int:\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    a, b = 0, 1\n" +
        "    for _ in range(n):\n        a, b = b, a + b\n    return a\n\nprint([fib(i) for i in range(10)])\n"],
    ["cpp_code",
        "#include <vector>\n\ntemplate <typename T>\nT sum(const std::vector<T>& v) {\n\tT s{};\n" +
        "\tfor (auto x : v) s += x;  // accumulate\n\treturn s;\n}\n\nint main() { return sum<int>({1, 2, 3}) != 6; }\n"],
    ["json_and_url", "{\"url\": \"https://example.com/a/b?c=1&d=%20x#frag\", \"ok\": true, \"n\": [1.5e-3, -7]}"],
    ["markdown", "# Title\n\n- item **bold** _it_\n- `code` and [link](http://x.y)\n\n> quote\n\n| a | b |\n|---|---|\n"],
    ["chinese", "我们今天去公园散步，天气非常好。人工智能正在改变世界！"],
    ["japanese", "東京は日本の首都です。ひらがなとカタカナ、そして漢字を使います。ｶﾀｶﾅ（半角）も。"],
    ["korean", "안녕하세요, 세계! 한국어 문장을 토큰화합니다. 감사합니다."],
    ["emoji", "Hi 👋 👍🏽 ❤️ 🎉🎉🎉 🇩🇪🇯🇵 🙂‍↕️"],
    ["emoji_zwj", "Family: 👨‍👩‍👧‍👦, coder: 🧑🏿‍💻, flag: 🏳️‍🌈, kiss: 👩‍❤️‍💋‍👨"],
    ["emoji_skin_tones", "👋🏻👋🏼👋🏽👋🏾👋🏿 ✌🏿 🤝🏻"],
    ["arabic", "مرحبا بالعالم! هذه جملة باللغة العربية، مع أرقام ١٢٣٤٥."],
    ["hebrew", "שלום עולם! זהו משפט בעברית עם ניקוד: שָׁלוֹם."],
    ["hindi", "नमस्ते दुनिया! यह हिंदी में एक वाक्य है। क्षत्रिय"],
    ["thai_greek_cyrillic", "สวัสดีครับ Καλημέρα κόσμε Привет, мир! Ёжик"],
    ["combining_marks", "e\u0301 cafe\u0301 na\u0308ive A\u030a Ti\u00ea\u0301ng Vie\u0323\u0302t x\u0327\u0301\u0308 \u0301start"],
    ["precomposed", "café naïve Å Tiếng Việt Ångström résumé"],
    ["math_and_symbols", "∀x∈ℝ: x²≥0, ∑ᵢ aᵢ ≈ π·r², €100 £50 ¥1000 ₹5 ©®™ ½ ¾ ①②"],
    ["punctuation_runs", "Wait!!! Really??? ... --- *** ### ''' \"\"\" ``` ~~~ ((( ))) [[[ ]]] ,,, ;;;"],
    ["whitespace_spaces", "a b  c   d    e     f      g"],
    ["whitespace_tabs", "\ta\t\tb\t\t\tc \t d\t \te"],
    ["whitespace_newlines", "a\nb\n\nc\n\n\nd\n \ne \n f"],
    ["whitespace_mixed", " \t\n \t\n\n  x \t \n\t\t\n   "],
    ["whitespace_only", "     "],
    ["newlines_only", "\n\n\n\n"],
    ["trailing_spaces", "end with spaces   "],
    ["trailing_newline", "end with newline\n"],
    ["leading_spaces", "   start with spaces"],
    ["crlf", "line one\r\nline two\r\n\r\nline four\r\n"],
    ["cr_only", "a\rb\r\rc"],
    ["unicode_spaces", "a\u00a0b c\u3000d e\u2003f g\u202fh"],
    ["unicode_line_breaks", "a\u2028b\u2029c x\u0085\u0085\u0085y \u000b\u000c"],
    ["bom_and_zero_width", "\ufeffstart a\u200bb c\u200dd e\u2060f"],
    ["control_chars", "a\u0001b\u0007c\u001bd\u007fe"],
    ["contractions_lower", "I'm sure you're right; we've seen it, they'll come, she'd know, it's fine, don't."],
    ["contractions_upper", "I'M SURE YOU'RE RIGHT; WE'VE SEEN IT, THEY'LL COME, SHE'D KNOW, IT'S FINE, DON'T."],
    ["contractions_mixed", "You'Re We'Ve They'Ll She'D It'S Don'T I'm'd 's 't 're 've 'm 'll 'd"],
    ["contractions_odd", "rock 'n' roll, ''s, 's's, Mary's cat's toy, 'twas, y'all'd've, '123, ' s"],
    ["quotes_unicode", "“Smart quotes” and ‘single’ — it’s a dash – and ellipsis…"],
    ["special_chat",
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n"],
    ["special_inline", "text<|endoftext|>more text <|endoftext|> and <|im_end|>end"],
    ["special_adjacent", "<|im_start|><|im_end|><|endoftext|><|im_start|>"],
    ["special_partial", "<|im_start <|im_end| <|endoftext|>|> <|<|im_end|>|>"],
    ["special_qwen3_added", "<think>\nreasoning\n</think>\n\n<tool_call>\n{\"name\": \"f\"}\n</tool_call>"],
    ["long_words", "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis " +
        "Donaudampfschifffahrtsgesellschaftskapitän"],
    ["repeated_letters", "a".repeat(300) + " " + "ab".repeat(100)],
    ["long_space_run", "x" + " ".repeat(200) + "y"],
    ["long_newline_run", "x" + "\n".repeat(100) + "y"],
    ["numbers_in_text", "pi = 3.14159265358979323846, e = 2.71828, 1,000,000 and 1_000_000 and 0x1F and 1e10."],
];
for (let n = 1; n <= 20; n++) {
    corpus.push([`digits_${String(n).padStart(2, "0")}`, digits(n)]);
    corpus.push([`digits_${String(n).padStart(2, "0")}_in_text`, `x ${digits(n)} y${digits(n)}z`]);
}
// A few paragraphs of held-out text (prose, reST markup, code samples), picked by index.
const paragraphs = heldout.split("\n\n");
for (const i of [60, 300, 840, 1020, 1680, 1980]) {
    corpus.push([`heldout_paragraph_${i}`, paragraphs[i]]);
}

function fnv1a64(ids) {
    let h = 0xcbf29ce484222325n;
    const prime = 0x100000001b3n;
    const mask = (1n << 64n) - 1n;
    for (const id of ids) {
        for (let k = 0; k < 4; k++) {
            h ^= BigInt((id >>> (8 * k)) & 0xff);
            h = (h * prime) & mask;
        }
    }
    return h.toString(16).padStart(16, "0");
}

let stale = 0;
for (const t of tokenizers) {
    const tokenizer_json = JSON.parse(fs.readFileSync(path.join(t.dir, "tokenizer.json"), "utf8"));
    const tokenizer_config = JSON.parse(fs.readFileSync(path.join(t.dir, "tokenizer_config.json"), "utf8"));
    const tok = new Tokenizer(tokenizer_json, tokenizer_config);
    const encode = (text) => tok.encode(text, { add_special_tokens: false }).ids;

    const cases = corpus.map(([name, text]) => ({ name, text, ids: encode(text) }));
    const heldout_ids = encode(heldout);
    const fixture = {
        tokenizer: path.relative(shared, t.dir),
        generator: "tests/node/tokenize_reference.mjs with @huggingface/tokenizers " +
            JSON.parse(fs.readFileSync(path.join(here, "node_modules", "@huggingface", "tokenizers", "package.json"))).version,
        cases,
        heldout: {
            file: "text/heldout.txt",
            bytes: Buffer.byteLength(heldout, "utf8"),
            n_tokens: heldout_ids.length,
            fnv1a64: fnv1a64(heldout_ids),
        },
    };
    // One case per line keeps diffs readable.
    const body = JSON.stringify({ ...fixture, cases: "@CASES@" }, null, 1)
        .replace("\"@CASES@\"", "[\n" + cases.map((c) => "  " + JSON.stringify(c)).join(",\n") + "\n ]") + "\n";
    const file = path.join(out_dir, `${t.name}.json`);
    if (check) {
        const old = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
        if (old !== body) {
            console.error(`${file} is out of date: run node tests/node/tokenize_reference.mjs`);
            stale++;
        }
    } else {
        fs.mkdirSync(out_dir, { recursive: true });
        fs.writeFileSync(file, body);
        console.log(`${file}: ${cases.length} cases, held-out ${heldout_ids.length} tokens`);
    }
}
process.exit(stale ? 1 : 0);
