// Development entry point: `node --import tsx src/cli/run.ts …` runs the CLI from sources.
import { main } from './main.js';

await main(process.argv);
