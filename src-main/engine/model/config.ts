// The transformer LM's configuration (CS336 names) with the ablation switches, validated with zod so that a
// bad value is reported by name with what to do.
import { z } from 'zod';
import { UserError } from '../../util/errors';

const posInt = z.number().int().positive();

export const ModelConfigSchema = z
  .object({
    vocab_size: posInt,
    context_length: posInt,
    d_model: posInt,
    num_layers: posInt,
    num_heads: posInt,
    d_ff: posInt,
    rope_theta: z.number().positive().default(10000),
    rmsnorm_eps: z.number().positive().default(1e-5),
    /** pre: x + f(Norm x); post: Norm(x + f(x)); none: x + f(x), no norm weights at all. */
    norm: z.enum(['pre', 'post', 'none']).default('pre'),
    /** rope: rotary embeddings on q and k; nope: no position information. */
    pos: z.enum(['rope', 'nope']).default('rope'),
    /** swiglu: w2(SiLU(w1 x) ⊙ w3 x); silu: w2(SiLU(w1 x)). */
    ffn: z.enum(['swiglu', 'silu']).default('swiglu'),
    tie_embeddings: z.boolean().default(false),
  })
  .strict();

export type ModelConfig = z.infer<typeof ModelConfigSchema>;

/** The CS336 TinyStories model (17M non-embedding parameters). */
export const CS336_TINYSTORIES: ModelConfig = {
  vocab_size: 10000,
  context_length: 256,
  d_model: 512,
  num_layers: 4,
  num_heads: 16,
  d_ff: 1344,
  rope_theta: 10000,
  rmsnorm_eps: 1e-5,
  norm: 'pre',
  pos: 'rope',
  ffn: 'swiglu',
  tie_embeddings: false,
};

export function formatZodError(err: z.ZodError, where: string): string {
  return err.issues
    .map((i) => `${where}${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`)
    .join('; ');
}

/** Parses and checks a model config; throws UserError naming the bad key and the fix. */
export function parseModelConfig(raw: unknown, where = 'model'): ModelConfig {
  const r = ModelConfigSchema.safeParse(raw);
  if (!r.success) throw new UserError(`invalid config: ${formatZodError(r.error, where)}`);
  const c = r.data;
  if (c.d_model % c.num_heads !== 0) {
    throw new UserError(`invalid config: ${where}.d_model (${c.d_model}) must be divisible by ${where}.num_heads (${c.num_heads}); pick num_heads among the divisors of d_model`);
  }
  const dk = c.d_model / c.num_heads;
  if (c.pos === 'rope' && dk % 2 !== 0) {
    throw new UserError(`invalid config: RoPE rotates pairs, so the head dim d_model/num_heads must be even, but it is ${dk} (${c.d_model}/${c.num_heads}); change num_heads or d_model, or set ${where}.pos to "nope"`);
  }
  if (dk > 256) throw new UserError(`invalid config: head dim ${dk} (d_model/num_heads) is above the supported 256; use more heads`);
  if (c.vocab_size > 65536) throw new UserError(`invalid config: ${where}.vocab_size ${c.vocab_size} is above 65536, the largest id a uint16 token file can hold`);
  return c;
}

export const headDim = (c: ModelConfig): number => c.d_model / c.num_heads;
