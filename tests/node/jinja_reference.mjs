// Renders real chat templates with @huggingface/jinja (an independent Jinja implementation) and
// writes the results as fixtures for the C++ interpreter's tests:
//   tests/fixtures/jinja/<name>.json = { template, source, cases: [{ name, context, expected | error }] }
//
//   node tests/node/jinja_reference.mjs          # (re)write the fixtures
//   node tests/node/jinja_reference.mjs --check  # render again and compare with the committed files
//
// Contexts get the defaults that transformers' apply_chat_template (and our
// render_chat_template) passes: add_generation_prompt=false, tools=null, documents=null.
// The contexts avoid the few places where @huggingface/jinja and Python Jinja2 disagree
// (null content printed, integral floats in tojson, JS-vs-Python number formatting).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

let Template;
try {
  ({ Template } = await import("@huggingface/jinja"));
} catch {
  console.log("SKIP: @huggingface/jinja is not installed (run `npm ci` in tests/node)");
  process.exit(77);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, "../fixtures/jinja");

// ---- message helpers ------------------------------------------------------------------------
const sys = (content) => ({ role: "system", content });
const user = (content) => ({ role: "user", content });
const asst = (content, extra = {}) => ({ role: "assistant", content, ...extra });
const tool = (content, extra = {}) => ({ role: "tool", content, ...extra });
const call = (name, args, extra = {}) => ({ type: "function", function: { name, arguments: args }, ...extra });

const TOOLS = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Get the current weather in a city",
      parameters: {
        type: "object",
        properties: {
          city: { type: "string", description: "City name, e.g. Oslo" },
          unit: { type: "string", enum: ["celsius", "fahrenheit"] },
        },
        required: ["city"],
      },
    },
  },
  {
    type: "function",
    function: {
      name: "search",
      description: "Recherche sur le web — résultats «triés» 🔍",
      parameters: {
        type: "object",
        properties: { query: { type: "string" }, limit: { type: "integer", minimum: 1, maximum: 50 }, safe: { type: "boolean" } },
        required: ["query"],
      },
    },
  },
];

const WEATHER_CALL = call("get_weather", { city: "Oslo", unit: "celsius" });
const WEATHER_RESULT = '{"temperature": 7.5, "condition": "cloudy"}';

// ---- Qwen3: the real template, many conversations --------------------------------------------
function qwen3Cases() {
  const c = [];
  const add = (name, context) => c.push({ name, context });
  add("single user, generation prompt", { messages: [user("Hello!")], add_generation_prompt: true });
  add("single user, no generation prompt", { messages: [user("Hello!")], add_generation_prompt: false });
  add("system and user, thinking off", { messages: [sys("You are terse."), user("2+2?")], add_generation_prompt: true, enable_thinking: false });
  add("system and user, thinking on", { messages: [sys("You are terse."), user("2+2?")], add_generation_prompt: true, enable_thinking: true });
  add("multi-turn plain", { messages: [user("Hi"), asst("Hello! How can I help?"), user("Tell me a joke.")], add_generation_prompt: true });
  add("earlier assistant thinking is dropped", {
    messages: [user("What is 3*7?"), asst("<think>\n3*7 = 21\n</think>\n\n21"), user("And 4*7?")],
    add_generation_prompt: true,
  });
  add("last assistant thinking is kept", {
    messages: [user("What is 3*7?"), asst("<think>\n3*7 = 21\n</think>\n\n21")],
    add_generation_prompt: false,
  });
  add("reasoning_content after the last query", {
    messages: [user("Capital of France?"), asst("Paris.", { reasoning_content: "The user asks about France. Its capital is Paris." })],
  });
  add("reasoning_content before the last query", {
    messages: [user("Capital of France?"), asst("Paris.", { reasoning_content: "Easy: Paris." }), user("And of Spain?")],
    add_generation_prompt: true,
    enable_thinking: true,
  });
  add("reasoning_content null falls back to think tags", {
    messages: [user("Q"), asst("<think>inner</think>answer", { reasoning_content: null })],
  });
  add("tools without system", { messages: [user("Weather in Oslo?")], tools: TOOLS, add_generation_prompt: true });
  add("tools with system", { messages: [sys("You are a weather bot."), user("Weather in Oslo?")], tools: TOOLS, add_generation_prompt: true });
  add("tool call with dict arguments", {
    messages: [user("Weather in Oslo?"), asst("", { tool_calls: [WEATHER_CALL] }), tool(WEATHER_RESULT)],
    tools: TOOLS,
    add_generation_prompt: true,
  });
  add("tool call with string arguments", {
    messages: [user("Weather in Oslo?"), asst("", { tool_calls: [call("get_weather", '{"city": "Oslo"}')] }), tool(WEATHER_RESULT)],
    tools: TOOLS,
    add_generation_prompt: true,
  });
  add("several tool calls with content", {
    messages: [
      user("Weather in Oslo and Bergen?"),
      asst("Let me check both.", { tool_calls: [WEATHER_CALL, call("get_weather", { city: "Bergen" })] }),
      tool(WEATHER_RESULT),
      tool('{"temperature": 9, "condition": "rain"}'),
    ],
    tools: TOOLS,
    add_generation_prompt: true,
  });
  add("flat tool call without a function wrapper", {
    messages: [user("Search cats"), asst("", { tool_calls: [{ name: "search", arguments: { query: "cats", limit: 3 } }] }), tool("3 results")],
    tools: TOOLS,
  });
  add("multi-step tool use", {
    messages: [
      sys("Use tools."),
      user("Plan a trip to Oslo."),
      asst("<think>\nNeed weather first.\n</think>\n\n", { tool_calls: [WEATHER_CALL] }),
      tool(WEATHER_RESULT),
      asst("<think>\nNow search hotels.\n</think>\n\n", { tool_calls: [call("search", { query: "hotels Oslo", safe: true })] }),
      tool("Hotel A, Hotel B"),
      asst("<think>\nSummarise.\n</think>\n\nIt is 7.5 °C and cloudy; try Hotel A."),
    ],
    tools: TOOLS,
  });
  add("user message that is a tool response", {
    messages: [
      user("Look it up."),
      asst("", { tool_calls: [call("search", { query: "x" })] }),
      user("<tool_response>\nfound x\n</tool_response>"),
      asst("<think>\nGot it.\n</think>\n\nDone."),
    ],
    tools: TOOLS,
  });
  add("unicode content", {
    messages: [sys("Réponds en français."), user("你好，世界 🌍 — ¿qué tal? שלום café naïve Ω≈ç√"), asst("Bonjour ! 👋 Ça va très bien."), user("Merci 🙏")],
    add_generation_prompt: true,
  });
  add("empty user content", { messages: [user("")], add_generation_prompt: true });
  add("empty assistant content", { messages: [user("Say nothing."), asst(""), user("Thanks")], add_generation_prompt: true });
  add("content with edge newlines", { messages: [user("\n\nhello\n"), asst("\n\nworld\n\n")] });
  add("thinking with extra newlines", { messages: [user("Q?"), asst("<think>\n\n\nlots of space\n\n\n</think>\n\n\n\nA.")] });
  add("system message in the middle", {
    messages: [user("Hi"), asst("Hello."), sys("Switch to pirate speak."), user("Hi again")],
    add_generation_prompt: true,
  });
  add("thinking off without generation prompt", { messages: [user("Hi")], enable_thinking: false });
  add("long conversation", {
    messages: Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? user(`question ${i / 2 + 1}`) : asst(`answer ${(i + 1) / 2}`))),
    add_generation_prompt: true,
  });
  add("tool arguments with escapes", {
    messages: [
      user("Search for quotes"),
      asst("", { tool_calls: [call("search", { query: 'He said "hi"\\n\tthen left — 日本 \\ back', limit: 10 })] }),
    ],
    tools: TOOLS,
  });
  add("nested tool arguments", {
    messages: [
      user("Complex call"),
      asst("Calling.", { tool_calls: [call("search", { query: "q", filters: { tags: ["a", "b"], exact: false, boost: 0.5, none: null }, pages: [1, 2, 3] })] }),
    ],
    tools: TOOLS,
    add_generation_prompt: false,
  });
  add("content that is only a closing think tag", { messages: [user("Q"), asst("</think>")] });
  add("several think blocks", { messages: [user("Q"), asst("<think>a</think>b<think>c</think>d")] });
  add("tools with thinking off", { messages: [user("Weather?")], tools: TOOLS, add_generation_prompt: true, enable_thinking: false });
  add("continue the final assistant message", { messages: [user("Write a haiku."), asst("Autumn moonlight—")] });
  add("tool message first", { messages: [tool("orphan result"), user("What was that?")], add_generation_prompt: true });
  add("special tokens in the context", {
    messages: [user("Hi")],
    bos_token: "<|endoftext|>",
    eos_token: "<|im_end|>",
    add_generation_prompt: true,
  });
  add("tool call with reasoning_content", {
    messages: [user("Weather?"), asst("", { reasoning_content: "I should call the tool.", tool_calls: [WEATHER_CALL] }), tool(WEATHER_RESULT)],
    tools: TOOLS,
    add_generation_prompt: true,
  });
  add("multi-turn with thinking everywhere", {
    messages: [
      user("A?"),
      asst("<think>\nthink A\n</think>\n\nanswer A"),
      user("B?"),
      asst("<think>\nthink B\n</think>\n\nanswer B"),
      user("C?"),
    ],
    add_generation_prompt: true,
    enable_thinking: true,
  });
  add("tool responses then a new question", {
    messages: [user("Weather?"), asst("", { tool_calls: [WEATHER_CALL] }), tool(WEATHER_RESULT), asst("7.5 °C."), user("Thanks, and tomorrow?")],
    tools: TOOLS,
    add_generation_prompt: true,
  });
  add("markup-like content", { messages: [user("{{ not a template }} {% neither %} {# nor #} <|im_end|> </tool_response>")], add_generation_prompt: true });
  add("empty tools list", { messages: [user("Hi")], tools: [], add_generation_prompt: true });
  return c;
}

// ---- other real templates, fewer conversations each ------------------------------------------
const BASIC = [user("Hello, how are you?"), asst("I'm doing great. How can I help you today?"), user("I'd like to show off how chat templating works!")];

function chatmlCases() {
  return [
    { name: "basic", context: { messages: BASIC } },
    { name: "basic with generation prompt", context: { messages: [sys("Be brief."), ...BASIC], add_generation_prompt: true } },
    { name: "unicode and empty", context: { messages: [user(""), asst("ünïcødé ✓")], add_generation_prompt: true } },
  ];
}

function qwen25Cases() {
  return [
    { name: "default system prompt", context: { messages: BASIC, add_generation_prompt: true } },
    { name: "own system prompt", context: { messages: [sys("You are a cat."), user("Meow?")], add_generation_prompt: true } },
    { name: "tools", context: { messages: [user("Weather in Oslo?")], tools: TOOLS, add_generation_prompt: true } },
    {
      name: "tool calls and responses",
      context: {
        messages: [
          sys("Weather bot."),
          user("Oslo and Bergen?"),
          asst("Checking.", { tool_calls: [WEATHER_CALL, call("get_weather", { city: "Bergen" })] }),
          tool(WEATHER_RESULT),
          tool('{"temperature": 9}'),
          asst("Oslo 7.5 °C, Bergen 9 °C."),
        ],
        tools: TOOLS,
      },
    },
  ];
}

function llama33Cases() {
  return [
    { name: "no tools", context: { messages: [sys("You are helpful."), ...BASIC], bos_token: "<|begin_of_text|>", add_generation_prompt: true } },
    { name: "no system message", context: { messages: BASIC, bos_token: "<|begin_of_text|>", date_string: "01 Jan 2025" } },
    { name: "tools in the first user message", context: { messages: [sys("  Use tools.  "), user("Weather in Oslo?")], tools: TOOLS, bos_token: "<|begin_of_text|>", add_generation_prompt: true } },
    {
      name: "tools in the system message",
      context: { messages: [user("Weather in Oslo?")], tools: TOOLS, tools_in_user_message: false, bos_token: "<|begin_of_text|>", add_generation_prompt: true },
    },
    {
      name: "tool call and string result",
      context: {
        messages: [user("Weather in Oslo?"), asst(null, { tool_calls: [WEATHER_CALL] }), tool("7.5 degrees and cloudy")],
        tools: TOOLS,
        tools_in_user_message: false,
        bos_token: "<|begin_of_text|>",
        add_generation_prompt: true,
      },
    },
    {
      name: "tool result as a dict",
      context: {
        messages: [user("Weather?"), asst(null, { tool_calls: [WEATHER_CALL] }), tool({ temperature: 7.5, condition: "cloudy" })],
        tools: TOOLS,
        tools_in_user_message: false,
        bos_token: "<|begin_of_text|>",
      },
    },
  ];
}

function mistralNemoCases() {
  const tc = (id, name, args) => ({ id, type: "function", function: { name, arguments: args } });
  return [
    { name: "alternating", context: { messages: BASIC, bos_token: "<s>", eos_token: "</s>" } },
    { name: "system goes to the last user turn", context: { messages: [sys("Answer in one word."), ...BASIC], bos_token: "<s>", eos_token: "</s>" } },
    { name: "tools", context: { messages: [user("Weather in Oslo?")], tools: TOOLS, bos_token: "<s>", eos_token: "</s>" } },
    {
      name: "tool calls and results",
      context: {
        messages: [
          user("Weather in Oslo?"),
          asst(null, { tool_calls: [tc("abc123xyz", "get_weather", { city: "Oslo" })] }),
          tool(WEATHER_RESULT, { tool_call_id: "abc123xyz" }),
          asst("It is 7.5 degrees."),
          user("Thanks!"),
        ],
        tools: TOOLS,
        bos_token: "<s>",
        eos_token: "</s>",
      },
    },
    { name: "roles must alternate", context: { messages: [user("a"), user("b")], bos_token: "<s>", eos_token: "</s>" } },
  ];
}

function gemma2Cases() {
  return [
    { name: "alternating", context: { messages: BASIC, bos_token: "<bos>", add_generation_prompt: true } },
    { name: "trimmed content", context: { messages: [user("  spaced out \n"), asst("\tok  ")], bos_token: "<bos>" } },
    { name: "system role is rejected", context: { messages: [sys("no"), user("hi")], bos_token: "<bos>" } },
  ];
}

function deepseekR1Cases() {
  return [
    { name: "plain", context: { messages: BASIC, bos_token: "<｜begin▁of▁sentence｜>", add_generation_prompt: true } },
    { name: "system and thinking stripped", context: { messages: [sys("Think step by step."), user("1+1?"), asst("<think>\n1+1=2\n</think>\n\n2"), user("2+2?")], bos_token: "<｜begin▁of▁sentence｜>", add_generation_prompt: true } },
    {
      name: "tool calls and outputs",
      context: {
        messages: [
          user("Weather?"),
          asst(null, { tool_calls: [call("get_weather", '{"city": "Oslo"}'), call("get_weather", '{"city": "Bergen"}')] }),
          tool("7.5"),
          tool("9"),
          asst("Oslo 7.5, Bergen 9."),
        ],
        bos_token: "<｜begin▁of▁sentence｜>",
        add_generation_prompt: true,
      },
    },
  ];
}

function qwen36Cases() {
  return [
    { name: "text", context: { messages: [sys("Be kind."), user("Hi")], add_generation_prompt: true } },
    {
      name: "content parts with images",
      context: {
        messages: [user([{ type: "text", text: "What is in " }, { type: "image", image: "a.png" }, { type: "image_url", image_url: { url: "b.png" } }, { type: "text", text: "?" }])],
        add_vision_id: true,
        add_generation_prompt: true,
        force_thinking: true,
      },
    },
    {
      name: "tools and tool calls",
      context: {
        messages: [
          sys("Use tools."),
          user("Weather in Oslo?"),
          asst("I will check.", { tool_calls: [call("get_weather", { city: "Oslo", days: 3, opts: { metric: true } }), call("search", { query: "Oslo" })] }),
          tool(WEATHER_RESULT),
          tool("results"),
          asst("<think>\ncombine\n</think>\n\nIt is 7.5 °C."),
        ],
        tools: TOOLS,
      },
    },
    {
      name: "reasoning content and preserve_thinking",
      context: {
        messages: [user("A?"), asst("a", { reasoning_content: "  why a  " }), user("B?"), asst("b", { reasoning_content: "why b" })],
        preserve_thinking: true,
      },
    },
    { name: "no user query", context: { messages: [sys("only system")] } },
  ];
}

const SUITES = [
  { name: "qwen3", template: "qwen3.jinja", source: "Qwen3 tokenizer_config.json chat_template (../shared/tokenizers/qwen3)", cases: qwen3Cases() },
  { name: "chatml", template: "chatml.jinja", source: "ChatML template of the tiny test models (../shared/models/tiny-qwen3)", cases: chatmlCases() },
  { name: "qwen2.5-instruct", template: "qwen2.5-instruct.jinja", source: "Qwen2.5-Instruct chat_template", cases: qwen25Cases() },
  { name: "llama-3.3-70b-instruct", template: "llama-3.3-70b-instruct.jinja", source: "meta-llama/Llama-3.3-70B-Instruct chat_template (as in llama.cpp models/templates)", cases: llama33Cases() },
  { name: "mistral-nemo-instruct-2407", template: "mistral-nemo-instruct-2407.jinja", source: "mistralai/Mistral-Nemo-Instruct-2407 chat_template (as in llama.cpp models/templates)", cases: mistralNemoCases() },
  { name: "gemma-2-2b-it", template: "gemma-2-2b-it.jinja", source: "google/gemma-2-2b-it chat_template (as in llama.cpp models/templates)", cases: gemma2Cases() },
  { name: "deepseek-r1-distill-qwen-32b", template: "deepseek-r1-distill-qwen-32b.jinja", source: "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B chat_template (as in llama.cpp models/templates)", cases: deepseekR1Cases() },
  { name: "qwen3.6-variant", template: "qwen3.6-variant.jinja", source: "a Qwen3.5/3.6-family template (vision content, XML tool calls) published with a Qwen3.6 FP8 config fix", cases: qwen36Cases() },
];

function withDefaults(context) {
  return { add_generation_prompt: false, tools: null, documents: null, ...context };
}

function render(templateText, context) {
  try {
    return { expected: new Template(templateText).render(withDefaults(context)) };
  } catch (e) {
    return { error: String(e.message ?? e) };
  }
}

const check = process.argv.includes("--check");
let failures = 0;
let total = 0;
for (const suite of SUITES) {
  const templateText = fs.readFileSync(path.join(fixtures, "templates", suite.template), "utf8");
  const out = {
    template: `templates/${suite.template}`,
    source: suite.source,
    renderer: "@huggingface/jinja (tests/node/package-lock.json), defaults add_generation_prompt=false, tools=null, documents=null",
    cases: suite.cases.map(({ name, context }) => ({ name, context, ...render(templateText, context) })),
  };
  total += out.cases.length;
  const file = path.join(fixtures, `${suite.name}.json`);
  const text = JSON.stringify(out, null, 2) + "\n";
  if (check) {
    const committed = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    if (committed !== text) {
      console.error(`MISMATCH ${file}: the committed fixture differs from what @huggingface/jinja renders now`);
      ++failures;
    }
  } else {
    fs.writeFileSync(file, text);
    console.log(`wrote ${file} (${out.cases.length} cases)`);
  }
}
if (check) console.log(`${SUITES.length - failures} passed, ${failures} failed (${total} contexts)`);
process.exit(failures ? 1 : 0);
