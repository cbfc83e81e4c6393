// Shared by the tests that compare two recordings of one model (fused-qkv, row-chunks): one forward + backward,
// then one optimizer step, of a training runtime, and the error measure they compare with. Structural types only,
// so that a test can import it before setting the environment its engine imports read (LMWB_KERNELS_DIR).

/** What the comparison needs of a TrainingRuntime. */
interface StepRuntime {
  setParameters(flat: Float32Array): void;
  setBatch(ids: Uint32Array, targets: Uint32Array): void;
  forwardBackwardOnly(): void;
  readLoss(): Promise<number>;
  readRowLoss(): Promise<Float32Array>;
  readFlat(which: 'params' | 'grads'): Promise<Float32Array>;
  trainStep(lr: number, t: number): void;
  readonly trainProgram: { readonly steps: ReadonlyArray<{ label: string }> };
}

/** Loss, row losses and gradients of one forward + backward from `init`, parameters after one step at lr 1e-2, and the training program's dispatch labels. */
export async function stepResults(rt: StepRuntime, init: Float32Array, ids: Uint32Array, targets: Uint32Array) {
  rt.setParameters(init);
  rt.setBatch(ids, targets);
  rt.forwardBackwardOnly();
  const loss = await rt.readLoss();
  const rows = await rt.readRowLoss();
  const grads = await rt.readFlat('grads');
  rt.trainStep(1e-2, 1);
  const params = await rt.readFlat('params');
  return { loss, rows, grads, params, labels: rt.trainProgram.steps.map((s) => s.label) };
}

/** The largest |got − want| over the largest |want| (over 1 where want is all zeros). */
export function maxRelErr(got: Float32Array, want: Float32Array): number {
  let err = 0, ref = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    ref = Math.max(ref, Math.abs(want[i]));
  }
  return err / (ref || 1);
}
