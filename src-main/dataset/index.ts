// Public API of the dataset pipeline.
export { prepareDataset, readDatasetManifest, defaultDatasetDir, DatasetManifestSchema, type DatasetManifest, type PrepareOptions, type PrepareEvent, type PrepareResult } from './prepare';
export { download, KNOWN_SOURCES, fileNameFor, defaultDest, recordPathFor, type DownloadOptions, type DownloadRecord } from './download';
export { sha256File } from './hash';
