// Public API of the dataset pipeline.
export {
  prepareDataset, readDatasetManifest, defaultDatasetDir, checkDatasetVocabSize, loadTokenizerSource, byteLevelTokenizer, DatasetManifestSchema,
  type DatasetManifest, type PrepareOptions, type PrepareEvent, type PrepareResult, type TokenizerSource,
} from './prepare';
export { datasetSamples, samplePositions, type DecodedSample, type SampleOptions } from './samples';
export type { PrepareStreamEvent, PrepareDoneEvent } from './events';
export { download, KNOWN_SOURCES, fileNameFor, defaultDest, recordPathFor, type DownloadOptions, type DownloadRecord } from './download';
export { sha256File } from './hash';
