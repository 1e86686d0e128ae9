/**
 * The evolver-studio CLI: the studio's engine without a browser. Each command parses
 * its own flags (args.ts); usage errors exit 2, bad input exits 1, both with a message
 * that names the file or flag.
 */
import { helpText, parseCommand, UsageError, type CommandSpec, type Parsed } from './args';
import { evaluate, evalSpec } from './commands/eval';
import { evolve, evolveSpec } from './commands/evolve';
import { inspect, inspectSpec } from './commands/inspect';
import { kinship, kinshipSpec } from './commands/kinship';
import { merge, mergeSpec } from './commands/merge';
import { startRuntime } from './runtime-options';
import { worker, workerSpec } from './queue/worker-command';

const COMMANDS: { spec: CommandSpec; run: (parsed: Parsed) => Promise<number> }[] = [
  { spec: inspectSpec, run: inspect },
  { spec: mergeSpec, run: merge },
  { spec: evolveSpec, run: evolve },
  { spec: kinshipSpec, run: kinship },
  { spec: evalSpec, run: evaluate },
  { spec: workerSpec, run: worker },
];

function overview(): string {
  return `evolver-studio: merge and evolve fine-tuned checkpoints (ONNX, safetensors) without a browser.\n\nUsage: evolver-studio <command> [options]\n\nCommands:\n${COMMANDS.map((c) => `  ${c.spec.name.padEnd(9)} ${c.spec.summary}`).join('\n')}\n\nRun \`evolver-studio <command> --help\` for a command's options.\n`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.spec.name === name);
  try {
    if (!command) throw new UsageError(`unknown command "${name}".`);
    const parsed = parseCommand(command.spec, rest);
    if (parsed.values.help) {
      process.stdout.write(helpText(command.spec));
      return 0;
    }
    // Every command that scores models does it on onnxruntime-node from here on (where it loads).
    startRuntime();
    return await command.run(parsed);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`evolver-studio${err.command ?? command ? ` ${err.command ?? command!.spec.name}` : ''}: ${err.message}\nRun \`evolver-studio ${err.command ?? command?.spec.name ?? ''} --help\`${command || err.command ? '' : ' or `evolver-studio --help`'} for usage.\n`.replace('  --help', ' --help'));
      return 2;
    }
    process.stderr.write(`evolver-studio ${name}: error: ${(err as Error).message}\n`);
    return 1;
  }
}
