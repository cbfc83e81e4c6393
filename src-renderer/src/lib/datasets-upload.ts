/**
 * Uploads a text file to `lmwb serve` (POST /api/upload?name=FILE, the token in the page's cookie) with upload
 * progress (XMLHttpRequest: fetch reports none). Resolves to the workspace-relative path `datasets.prepare`
 * takes; rejects with the server's one-line message and code (e.g. FILE_TOO_LARGE).
 */
import { ApiError } from '../api/client';

export function uploadText(file: File, onProgress: (sent: number, total: number) => void, base = location.origin): { done: Promise<{ path: string; size: number }>; abort: () => void } {
  const xhr = new XMLHttpRequest();
  const done = new Promise<{ path: string; size: number }>((resolve, reject) => {
    xhr.open('POST', `${base}/api/upload?name=${encodeURIComponent(file.name)}`);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      let body: { ok?: boolean; result?: { path: string; size: number }; error?: { code: string; message: string } } = {};
      try {
        body = JSON.parse(xhr.responseText) as typeof body;
      } catch {
        /* not JSON: a plain-text refusal (401, 403) */
      }
      if (xhr.status === 200 && body.ok && body.result) resolve(body.result);
      else if (body.error) reject(new ApiError(body.error.code, body.error.message));
      else if (xhr.status === 401) reject(new ApiError('UNAUTHORIZED', 'the server wants its token: open the URL that `lmwb serve` printed'));
      else reject(new ApiError('HTTP', `upload failed: ${xhr.status} ${xhr.responseText.trim()}`));
    };
    xhr.onerror = () => reject(new ApiError('NETWORK', 'the upload was interrupted (connection lost); nothing was kept, try again'));
    xhr.onabort = () => reject(new ApiError('ABORTED', 'upload cancelled; nothing was kept'));
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}
