import { api, type JobStatus, type TrainEvent } from './api.js';
import { LiveChart, type StepRange } from './charts.js';

const fixed = (digits: number) => (v: number) => v.toFixed(digits);
const compact = (v: number) => (Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : +v.toPrecision(3) + '');

export interface TrainingPanelElements {
  charts: HTMLElement;
  steps: HTMLInputElement;
  fresh: HTMLInputElement;
  start: HTMLButtonElement;
  stop: HTMLButtonElement;
  progress: HTMLElement;
  status: HTMLElement;
  live: HTMLElement;
}

/**
 * Live charts of a training run fed by the server's event stream (/api/events), and the
 * controls that start and stop a run from the page.
 */
export class TrainingPanel {
  readonly loss: LiveChart;
  readonly learningRate: LiveChart;
  readonly accuracy: LiveChart;
  readonly speed: LiveChart;
  private lastStep = -1;
  private readonly steps: StepRange = { min: 0, max: 0 };
  private job: JobStatus = { state: 'idle' };
  private readonly checkpointListeners = new Set<() => void>();

  constructor(private readonly el: TrainingPanelElements) {
    const percent = (digits: number) => (v: number) => `${(v * 100).toFixed(digits)}%`;
    this.loss = new LiveChart(el.charts, { title: 'Training loss', color: '#f472b6', format: fixed(3), axisFormat: compact, log: true }, this.steps);
    this.learningRate = new LiveChart(el.charts, { title: 'Learning rate', color: '#fbbf24', format: compact }, this.steps);
    this.accuracy = new LiveChart(el.charts, { title: 'Validation accuracy (EMA)', color: '#34d399', format: percent(2), axisFormat: percent(1) }, this.steps);
    this.speed = new LiveChart(el.charts, { title: 'Examples / s', color: '#60a5fa', format: compact }, this.steps);
    el.start.addEventListener('click', () => void this.start());
    el.stop.addEventListener('click', () => void api.stopTraining().catch((err: Error) => this.say(err.message, true)));
  }

  /** Called after each new checkpoint or validation result (the table and the model refresh). */
  onCheckpoint(listener: () => void): void {
    this.checkpointListeners.add(listener);
  }

  connect(): void {
    const source = new EventSource('/api/events');
    source.addEventListener('train', (e) => this.onEvent(JSON.parse((e as MessageEvent<string>).data) as TrainEvent));
    source.addEventListener('job', (e) => this.onJob(JSON.parse((e as MessageEvent<string>).data) as JobStatus));
    source.addEventListener('open', () => this.el.live.classList.add('on'));
    source.addEventListener('error', () => this.el.live.classList.remove('on'));
  }

  private onEvent(event: TrainEvent): void {
    switch (event.type) {
      case 'reset':
        this.clear();
        break;
      case 'start':
        // A fresh run starts again at step 0: the old curves belong to another model.
        if (event.fromStep < this.lastStep) this.clear();
        break;
      case 'step':
        this.lastStep = event.step;
        this.extend(event.step);
        this.loss.add(event.step, event.loss);
        this.learningRate.add(event.step, event.learningRate);
        this.speed.add(event.step, event.examplesPerSec);
        break;
      case 'validation':
        this.extend(event.step);
        this.accuracy.add(event.step, event.accuracy);
        for (const l of this.checkpointListeners) l();
        break;
      case 'checkpoint':
        for (const l of this.checkpointListeners) l();
        break;
      case 'end':
        break;
    }
  }

  /** Widens the shared x axis to include `step`. */
  private extend(step: number): void {
    if (this.steps.max <= this.steps.min && this.steps.max === 0) this.steps.min = step;
    const min = Math.min(this.steps.min, step);
    const max = Math.max(this.steps.max, step);
    if (min === this.steps.min && max === this.steps.max) return;
    this.steps.min = min;
    this.steps.max = max;
    for (const chart of [this.loss, this.learningRate, this.accuracy, this.speed]) chart.touch();
  }

  private clear(): void {
    this.lastStep = -1;
    this.steps.min = this.steps.max = 0;
    for (const chart of [this.loss, this.learningRate, this.accuracy, this.speed]) chart.clear();
  }

  private onJob(job: JobStatus): void {
    this.job = job;
    const active = job.state === 'starting' || job.state === 'running' || job.state === 'stopping';
    this.el.start.disabled = active;
    this.el.stop.disabled = !active || job.state === 'stopping';
    document.body.classList.toggle('training', active);
    const from = job.fromStep ?? 0;
    const to = job.toStep ?? 0;
    const step = job.step ?? from;
    const fraction = to > from ? (step - from) / (to - from) : 0;
    this.el.progress.style.width = `${Math.max(0, Math.min(1, job.state === 'done' ? 1 : fraction)) * 100}%`;
    this.el.progress.parentElement!.classList.toggle('active', active);
    switch (job.state) {
      case 'idle':
        this.say('Idle. Runs of `mnist train` on this directory show up here live too.');
        break;
      case 'starting':
        this.say('Starting a training run…');
        break;
      case 'running':
        this.say(`Training on ${job.backend ?? '?'}: step ${step} of ${to}${job.loss !== undefined ? ` · loss ${job.loss.toFixed(3)}` : ''}`);
        break;
      case 'stopping':
        this.say(`Stopping after step ${step} and saving a checkpoint…`);
        break;
      case 'done':
        this.say(`Done: step ${job.step} in ${(job.seconds ?? 0).toFixed(1)} s.`);
        break;
      case 'failed':
        this.say(`Training failed: ${job.error ?? 'unknown error'}`, true);
        break;
    }
  }

  private async start(): Promise<void> {
    const steps = Number(this.el.steps.value);
    if (!Number.isInteger(steps) || steps < 1) {
      this.say('Steps must be a whole number of at least 1.', true);
      return;
    }
    this.el.start.disabled = true;
    try {
      const fresh = this.el.fresh.checked;
      const from = fresh ? 0 : (await api.info()).latestStep;
      const job = await api.train({ steps: from + steps, fresh });
      this.onJob(job);
    } catch (err) {
      this.el.start.disabled = false;
      this.say((err as Error).message, true);
    }
  }

  private say(text: string, error = false): void {
    this.el.status.textContent = text;
    this.el.status.classList.toggle('error', error);
  }

  get state(): JobStatus['state'] {
    return this.job.state;
  }
}
