import { loadMnist, sliceSplit } from '../data/mnist.js';
import { evaluate as evaluateSplit, loadModel } from '../eval/evaluate.js';
import { predictDigits, type Prediction } from '../predict/predict.js';
import { imageToMnist } from '../predict/preprocess.js';

export interface OpenModelOptions {
  /** Restore the moving averages (EMA) in place of the raw variables, when present. Default true. */
  useEma?: boolean;
  /** A checkpoint path prefix; default: the directory's newest. */
  checkpoint?: string;
}

export interface EvaluateOptions {
  split?: 'test' | 'validation';
  /** Evaluate the first N images only. */
  limit?: number;
  dataDir?: string;
}

/** A trained model restored from a model directory (see `openModel`). */
export interface OpenedModel {
  readonly name: string;
  readonly checkpoint: string;
  readonly globalStep: number;
  /** True when the EMA values were restored in place of the variables. */
  readonly usedEma: boolean;
  /** Digits and probabilities of MNIST-shaped images: 784 floats in [0, 1] each, white ink on black. */
  predictPixels(images: Float32Array[]): Prediction[];
  /** Any image file's bytes (PNG, JPEG, …), preprocessed as `mnist predict` does. */
  predictImage(bytes: Uint8Array, name?: string): Promise<Prediction>;
  /** Accuracy on the MNIST test (default) or validation images. */
  evaluate(options?: EvaluateOptions): { accuracy: number; correct: number; count: number };
  /** Frees the model's tensors. */
  dispose(): void;
}

/** Opens a model directory written by `mnist train` (or `train()`), restoring its checkpoint. */
export function openModel(modelDir: string, options: OpenModelOptions = {}): OpenedModel {
  const loaded = loadModel(modelDir, { useEma: options.useEma, checkpoint: options.checkpoint });
  const { model } = loaded;
  return {
    name: model.name,
    checkpoint: loaded.checkpoint,
    globalStep: loaded.globalStep,
    usedEma: loaded.usedEma,
    predictPixels: (images) => predictDigits(model, images),
    async predictImage(bytes, name = 'image') {
      return predictDigits(model, [await imageToMnist(bytes, name)])[0];
    },
    evaluate({ split = 'test', limit, dataDir } = {}) {
      const data = loadMnist({ dataDir });
      const all = data[split];
      const { accuracy, correct, count } = evaluateSplit(model, limit === undefined ? all : sliceSplit(all, 0, Math.min(limit, all.count)));
      return { accuracy, correct, count };
    },
    dispose: () => model.dispose(),
  };
}
