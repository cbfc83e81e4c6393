// The messages between the checkpoint writer (checkpoint-writer.ts) and its worker thread: the state crosses with
// its Float32Arrays' buffers transferred; errors come back as ErrorInfo (DISK_FULL keeps its code and message).
import type { ErrorInfo } from '../../util/errors';
import type { ParamSlot } from '../model/parameters';
import type { CheckpointState } from './checkpoint';

export type WriterRequest = { type: 'write'; id: number; path: string; slots: ParamSlot[]; state: CheckpointState } | { type: 'close' };

export type WriterReply = { type: 'written'; id: number; bytes: number } | { type: 'error'; id: number; error: ErrorInfo };
