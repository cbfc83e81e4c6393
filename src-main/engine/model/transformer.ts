// The names the engine used before the runtime was split into modules (plan, forward, backward, optimizer,
// runtime): TransformerRuntime is the training runtime. New code imports from model/runtime.ts.
export { TrainingRuntime as TransformerRuntime, ForwardRuntime, type RuntimeOptions } from './runtime';
