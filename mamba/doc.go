// Package mamba implements the Mamba (v1) selective state-space mixer and the
// Mamba language model of state-spaces/mamba (`Mamba`, `MambaLMHeadModel`) and
// huggingface/transformers (`MambaMixer`, `MambaForCausalLM`), matching the
// official fp32 PyTorch code number for number.
//
// The pieces, bottom up:
//
//   - Branch: one SSM path (causal depthwise conv1d → SiLU → x_proj → dt_proj
//     → selective scan gated by silu(z)), with a full-sequence Forward, a
//     Prefill that also returns the recurrent state, and a one-token Step.
//     Vim's bidirectional mixer reuses it twice.
//   - Mixer: in_proj → split x | z → Branch → out_proj.
//   - Model: token embedding → n_layer pre-norm residual blocks
//     (x ← x + Mixer(RMSNorm(x)), residual in fp32) → norm_f → tied LM head
//     over the padded vocabulary.
//
// All model code is written against kernels.Backend; scratch memory comes
// from a Workspace so that steady-state decoding allocates nothing on the
// compute side.
package mamba
