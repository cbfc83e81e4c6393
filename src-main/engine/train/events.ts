/**
 * What a training run reports while it runs: a serializable union (see engine/events.ts). `lmwb train --events
 * ndjson` prints one per line on stdout for a supervisor (the queue worker, the app); the CLI's own output is
 * made from the same events.
 */
import type { ErrorEvent, WarningEvent } from '../events';
import type { DiagRecord, EvalRecord, TrainRecord } from '../../runs/format';

export interface DeviceInfo {
  /** Product name, e.g. "NVIDIA H200" or "llvmpipe (LLVM 15.0.6, 256 bits)". */
  name: string;
  vendor: string;
  architecture: string;
  /** Driver description as the adapter reports it. */
  driver: string;
  software: boolean;
}

export interface TrainStartEvent {
  type: 'start';
  run_dir: string;
  /** Total optimizer steps of the run, and the step it starts (or resumes) at. */
  steps: number;
  start_step: number;
  parameters: number;
  non_embedding_parameters: number;
  device: DeviceInfo;
  precision: 'f32' | 'mixed';
  /** Why: the config asked for it, or `auto` chose by the adapter's f16 tensor cores. */
  precision_reason: 'config' | 'auto-tensor-cores' | 'auto-no-tensor-cores';
  /** Dawn's shader bounds clamping is on (LMWB_SAFE_KERNELS=1). */
  bounds_checks: boolean;
  tokens_per_step: number;
  /** Rows of logits per LM-head chunk (training.logits_chunk_mb): tokens_per_step where the whole batch is one. */
  logits_chunk_rows: number;
  train_tokens: number;
  /** The checkpoint this attempt resumed from, if any. */
  resumed_from?: string;
}

export interface TrainLogEvent {
  type: 'log';
  record: TrainRecord;
  /** Seconds left at the current rate. */
  eta_s: number;
}

export interface TrainEvalEvent {
  type: 'eval';
  record: EvalRecord;
}

export interface TrainDiagEvent {
  type: 'diag';
  record: DiagRecord;
}

export interface TrainCheckpointEvent {
  type: 'checkpoint';
  path: string;
  step: number;
  bytes: number;
}

export interface TrainDoneEvent {
  type: 'done';
  /** done: all steps (or the time budget); paused: stopped by a signal after a checkpoint; diverged: stopped by the divergence rule. */
  state: 'done' | 'paused' | 'diverged';
  final_step: number;
  final_loss: number | null;
  final_val_loss?: number | null;
  best_val_loss?: number | null;
  last_checkpoint?: string;
}

export type TrainEvent = TrainStartEvent | TrainLogEvent | TrainEvalEvent | TrainDiagEvent | TrainCheckpointEvent | TrainDoneEvent | WarningEvent | ErrorEvent;
