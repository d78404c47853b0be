// Package mamba implements the Mamba (v1) selective state-space mixer and the
// Mamba language model of state-spaces/mamba (`Mamba`, `MambaLMHeadModel`) and
// huggingface/transformers (`MambaMixer`, `MambaForCausalLM`), matching the
// official fp32 PyTorch code number for number (logits within 3e-6 of the
// golden fixtures).
//
// The pieces, bottom up:
//
//   - Branch: one SSM path (causal depthwise conv1d → SiLU → x_proj → dt_proj
//     → selective scan gated by silu(z)), with a full-sequence Forward, a
//     Prefill that also returns the recurrent state, and a one-token Step.
//     Vim's bidirectional mixer reuses it twice.
//   - Mixer: in_proj → split x | z → Branch → out_proj.
//   - Model: token embedding → NLayer pre-norm residual blocks
//     (x ← x + Mixer(RMSNorm(x)), residual in fp32) → norm_f → LM head tied
//     to the embedding, with logits over every padded vocabulary row (like
//     both official implementations).
//
// Loading: Load reads a checkpoint folder in either public layout —
// transformers (config.json + model.safetensors or a sharded index) or
// mamba_ssm (config.json + pytorch_model.bin) — with explicit key names and
// strict binding (missing, unexpected and wrongly shaped tensors are reported
// together). LoadConfig reads only the config; Preset returns the released
// shapes (mamba-130m … mamba-2.8b).
//
// Generation: Generate (or State.Prefill + State.Step by hand) runs the
// prompt through the parallel scan once, keeping per layer a conv state
// (Bt, d_inner, d_conv) and an SSM state (Bt, d_inner, d_state), then
// decodes one token per step with memory that does not grow with the
// sequence. Greedy, temperature, top-k and top-p sampling follow mamba_ssm's
// sample(); stop tokens, streaming callbacks, context cancellation and
// ragged batches are supported.
//
// Precision: weights are fp32 by default (the parity path). On the CPU,
// Model.UseBF16 (or LoadOptions.Precision = PrecisionBF16, or
// `--precision bf16` on the command line) stores the linear layers'
// matrices and the embedding / LM head in bfloat16, and Model.UseInt8
// (PrecisionInt8, `--precision int8`) in int8 with one fp32 scale per 64
// inputs of each row (kernels.Int8Matrix); the kernels widen them in
// registers and accumulate in fp32, and the scan, state, conv and norms
// stay fp32. A decode step streams every weight once, so it reads half or
// about a quarter of fp32's bytes: 262 or 142 MB for mamba-130m instead of
// 519. mamba-130m shape, batch 1, 2 threads on the device machine's Xeon,
// one run, two rounds: int8 6.0–8.1 ms per token, bf16 14.1–14.7, fp32
// 21.8–22.8, beside HF transformers' MambaForCausalLM at 42.2 ms (its own
// step loop; 46.4 through generate). The logits move by about 0.7% of
// their scale with bf16 and up to about 4% with int8 on the fixtures,
// whose greedy tokens stay the same with int8 (TestPrecision).
//
// All model code is written against kernels.Backend (CPU or CUDA); scratch
// memory comes from a Workspace so that steady-state decoding allocates
// nothing proportional to the model or the sequence.
//
// Concurrency: a prepared Model is read-only; Forward serialises on an
// internal workspace, while States (one per goroutine) decode concurrently.
// Branch and Mixer are safe for concurrent use with one Workspace per
// goroutine.
package mamba
