import type { Command } from 'commander';

/** Every sub-command, in the order `mnist --help` lists them. One line per command module. */
export const COMMANDS: Array<(program: Command) => void> = [
];
