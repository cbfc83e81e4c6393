// The six model variants the engine trains, as overrides of a base config (shared by the generation tests).
import type { ModelConfig } from '../../src-main/engine/model/config';

export const VARIANTS: Array<[string, Partial<ModelConfig>]> = [
  ['pre-norm RoPE SwiGLU', {}],
  ['post-norm', { norm: 'post' }],
  ['no norm', { norm: 'none' }],
  ['NoPE', { pos: 'nope' }],
  ['SiLU FFN', { ffn: 'silu' }],
  ['tied embeddings', { tie_embeddings: true }],
];
