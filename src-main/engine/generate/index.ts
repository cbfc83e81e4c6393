// Public API of generation (KV-cache decoding on the GPU, sampling, streaming events, checkpoint loading):
//
//   const m = loadGenerationModel('runs/smoke');                  // or a .safetensors (ours or PyTorch's)
//   const { tokenizer } = runTokenizer(m.runDir!);                // or loadTokenizer(dir)
//   const g = new Generator(gpu, m.cfg, m.weights, tokenizer, { numSamples: 4 });
//   const results = await g.generate('Once upon a time', { temperature: 0.8, topP: 0.9, maxNewTokens: 256 },
//     { onEvent: (e) => e.type === 'token' && process.stdout.write(e.text), signal });
//   g.destroy();
export { Generator, END_OF_TEXT, DEFAULT_GENERATE, type GenerateEvent, type GenerateSettings, type SampleResult, type StopReason, type GeneratorOptions, type WeightSource } from './generate';
export { KvDecoder, decodeSlots, type LogitsMode } from './decoder';
export { Sampler, samplingDistribution, checkSampling, argmax, type SamplingSettings } from './sampler';
export { loadGenerationModel, resolveGenerationCheckpoint, runTokenizer, byteTokenizer, readRunConfig, modelConfigFrom, checkedWeights, type LoadedModel } from './load';
export { sampleRecords, appendSamples } from './samples';
export { resolveDecodePrecision, decodeKernels, type DecodePrecision } from './backend';
