import './style.css';
import { api, ApiError } from './api.js';
import { CheckpointTable } from './checkpoint-table.js';
import { DrawPad } from './draw-pad.js';
import { MistakesView } from './mistakes-view.js';
import { PredictionView } from './prediction-view.js';
import { TrainingPanel } from './training-panel.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const pad = new DrawPad($<HTMLCanvasElement>('pad'));
const prediction = new PredictionView($('digit'), $('confidence'), $('bars'), $<HTMLCanvasElement>('preview'), $('prediction-meta'));
const table = new CheckpointTable($('checkpoint-rows'), $<HTMLSelectElement>('picker'), $('checkpoint-summary'));
const mistakes = new MistakesView($('mistakes'), $('mistakes-summary'), $<HTMLButtonElement>('mistakes-prev'), $<HTMLButtonElement>('mistakes-next'), $('mistakes-page'));
const training = new TrainingPanel({
  charts: $('charts'),
  steps: $<HTMLInputElement>('train-steps'),
  fresh: $<HTMLInputElement>('train-fresh'),
  start: $<HTMLButtonElement>('train-start'),
  stop: $<HTMLButtonElement>('train-stop'),
  progress: $('train-progress'),
  status: $('train-status'),
  live: $('live'),
});

/**
 * Predicts while the user draws: one request in flight at a time, and when the drawing changed
 * meanwhile, one more with the newest drawing as soon as it returns.
 */
let inFlight = false;
let dirty = false;
async function predictNow(): Promise<void> {
  if (pad.empty && !inFlight) {
    prediction.reset('Draw a digit');
    dirty = false;
    document.body.dataset.predicting = '0';
    return;
  }
  if (inFlight) {
    dirty = true;
    return;
  }
  inFlight = true;
  dirty = false;
  // Tests wait for "0": the prediction shown is the one of the drawing as it is now.
  document.body.dataset.predicting = '1';
  try {
    const result = await api.predictPng(await pad.toPng(), table.checkpoint);
    if (!pad.empty) prediction.show(result);
    document.body.dataset.predictions = String(Number(document.body.dataset.predictions ?? 0) + 1);
  } catch (err) {
    prediction.reset(err instanceof ApiError && err.status === 404 ? 'No model yet: train one below' : `Error: ${(err as Error).message}`);
  } finally {
    inFlight = false;
    if (dirty) void predictNow();
    else document.body.dataset.predicting = '0';
  }
}

let lastSent = 0;
pad.onChange((final) => {
  // While drawing, at most ~12 predictions a second; the end of a stroke always predicts.
  const now = performance.now();
  if (!final && now - lastSent < 80) {
    dirty = true;
    document.body.dataset.predicting = '1';
    return;
  }
  lastSent = now;
  void predictNow();
});
$('clear').addEventListener('click', () => pad.clear());
document.addEventListener('keydown', (e) => {
  if ((e.key === 'Escape' || e.key === 'c') && !(e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement)) pad.clear();
});

table.onSelect((checkpoint) => {
  void predictNow();
  void mistakes.show(checkpoint);
});

let mistakesTimer: number | undefined;
training.onCheckpoint(() => {
  table.refreshSoon();
  // The newest model changed: the drawing's prediction and (a little later) the mistakes follow it.
  if (!table.checkpoint) {
    void predictNow();
    clearTimeout(mistakesTimer);
    mistakesTimer = window.setTimeout(() => void mistakes.reload(), 1500);
  }
});

async function start(): Promise<void> {
  const info = await api.info();
  $('model-name').textContent = info.model;
  $('model-dir').textContent = info.modelDir;
  $('backend').textContent = info.backend;
  document.title = `mnist-ts · ${info.model} · ${info.modelDir}`;
  training.connect();
  await table.refresh();
  await mistakes.show(undefined);
  document.body.dataset.ready = 'true';
}

void start().catch((err: Error) => {
  $('train-status').textContent = `Could not reach the server: ${err.message}`;
});
