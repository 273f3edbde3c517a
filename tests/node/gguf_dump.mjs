// Prints, as JSON, a GGUF file as the independent parser @huggingface/gguf reads it:
//   {"version", "alignment", "data_offset",
//    "metadata": {key: value}, "metadata_types": {key: "u32" | "array<string>" | ...},
//    "tensors": [{"name", "type_id", "shape" (ne order), "offset"}]}
// The same field names as `rocmforge info --json`, so the two can be compared. 64-bit integers
// (BigInt in JS) are printed as exact integer literals, which JSON.stringify cannot do.
//
// usage: node gguf_dump.mjs FILE.gguf
import { gguf } from "@huggingface/gguf";
import path from "node:path";

const TYPE_NAMES = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"];
// Added by the package, not keys of the file.
const HEADER_FIELDS = new Set(["version", "tensor_count", "kv_count"]);

function toJson(v) {
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return "[" + v.map(toJson).join(",") + "]";
  if (v !== null && typeof v === "object") {
    return "{" + Object.entries(v).map(([k, x]) => JSON.stringify(k) + ":" + toJson(x)).join(",") + "}";
  }
  return JSON.stringify(v); // numbers (NaN and infinities become null), strings, booleans
}

const file = process.argv[2];
if (!file) {
  console.error("usage: node gguf_dump.mjs FILE.gguf");
  process.exit(2);
}
const r = await gguf(path.resolve(file), { allowLocalFile: true, typedMetadata: true });

const metadata = {};
const metadataTypes = {};
for (const [key, entry] of Object.entries(r.typedMetadata)) {
  if (HEADER_FIELDS.has(key)) continue;
  metadata[key] = entry.value;
  let type = TYPE_NAMES[entry.type] ?? `?${entry.type}`;
  if (entry.type === 9) type += `<${TYPE_NAMES[entry.subType] ?? "?"}>`;
  metadataTypes[key] = type;
}

const out = {
  version: r.metadata.version,
  alignment: r.metadata["general.alignment"] ?? 32,
  data_offset: r.tensorDataOffset,
  metadata,
  metadata_types: metadataTypes,
  tensors: r.tensorInfos.map((t) => ({ name: t.name, type_id: t.dtype, shape: t.shape, offset: t.offset })),
};
process.stdout.write(toJson(out) + "\n");
