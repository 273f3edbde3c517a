// GGUF tensor names (llama.cpp conventions), in one place. Per-layer names are "blk.<i>.<name>".
#pragma once

#include <string>

namespace rf::tensor_names {

inline constexpr const char* kTokenEmbd = "token_embd.weight";
inline constexpr const char* kOutputNorm = "output_norm.weight";
inline constexpr const char* kOutput = "output.weight";

inline constexpr const char* kAttnNorm = "attn_norm.weight";
inline constexpr const char* kAttnQ = "attn_q.weight";
inline constexpr const char* kAttnK = "attn_k.weight";
inline constexpr const char* kAttnV = "attn_v.weight";
inline constexpr const char* kAttnQBias = "attn_q.bias";
inline constexpr const char* kAttnKBias = "attn_k.bias";
inline constexpr const char* kAttnVBias = "attn_v.bias";
inline constexpr const char* kAttnOutput = "attn_output.weight";
inline constexpr const char* kAttnQNorm = "attn_q_norm.weight";
inline constexpr const char* kAttnKNorm = "attn_k_norm.weight";
inline constexpr const char* kFfnNorm = "ffn_norm.weight";
inline constexpr const char* kFfnGate = "ffn_gate.weight";
inline constexpr const char* kFfnUp = "ffn_up.weight";
inline constexpr const char* kFfnDown = "ffn_down.weight";
inline constexpr const char* kFfnGateInp = "ffn_gate_inp.weight";    // MoE router [n_expert, n_embd]
inline constexpr const char* kFfnGateExps = "ffn_gate_exps.weight";  // n_expert x [n_ff_exp, n_embd]
inline constexpr const char* kFfnUpExps = "ffn_up_exps.weight";
inline constexpr const char* kFfnDownExps = "ffn_down_exps.weight";  // n_expert x [n_embd, n_ff_exp]

// Qwen3.5 / Qwen3.6 (qwen35, qwen35moe)
inline constexpr const char* kPostAttnNorm = "post_attention_norm.weight";  // its FFN norm
inline constexpr const char* kAttnQkv = "attn_qkv.weight";      // Gated DeltaNet in_proj_qkv
inline constexpr const char* kAttnGate = "attn_gate.weight";    // in_proj_z
inline constexpr const char* kSsmAlpha = "ssm_alpha.weight";    // in_proj_a
inline constexpr const char* kSsmBeta = "ssm_beta.weight";      // in_proj_b
inline constexpr const char* kSsmA = "ssm_a";                   // -exp(A_log)
inline constexpr const char* kSsmDtBias = "ssm_dt.bias";
inline constexpr const char* kSsmConv1d = "ssm_conv1d.weight";
inline constexpr const char* kSsmNorm = "ssm_norm.weight";
inline constexpr const char* kSsmOut = "ssm_out.weight";
inline constexpr const char* kFfnGateShexp = "ffn_gate_shexp.weight";
inline constexpr const char* kFfnUpShexp = "ffn_up_shexp.weight";
inline constexpr const char* kFfnDownShexp = "ffn_down_shexp.weight";
inline constexpr const char* kFfnGateInpShexp = "ffn_gate_inp_shexp.weight";

inline std::string layer(int il, const char* name) { return "blk." + std::to_string(il) + "." + name; }

}  // namespace rf::tensor_names
