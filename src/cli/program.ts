import { Command, Help } from "commander";
import { showControls } from "../lib/terminal-text.js";
import { truncate } from "../lib/text.js";
import { PACKAGE_VERSION } from "../version.js";
import { COMMANDS, type CommandName } from "./command-list.js";

/**
 * The program, with the command that `argv` runs loaded whole and every other one as a name and a
 * description only (enough for the command list and for commander to tell a typo): a command loads
 * its own code and drivers, not everyone's.
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command("plugchat-sync")
    .description("Keep a PostgreSQL copy of your Plugchat integrator accounts and record what drifts.")
    .version(PACKAGE_VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureHelp({ subcommandTerm: (command) => termOf(command) });
  const wanted = commandIn(argv.slice(2));
  for (const [name, entry] of Object.entries(COMMANDS)) {
    program.addCommand(
      name === wanted ? await entry.load() : new Command(name).description(entry.description),
    );
  }
  configureUsageErrors(program);
  return program;
}

/** The command the arguments run: the first one, or the one after `help`. */
function commandIn(args: readonly string[]): string | undefined {
  return args[0] === "help" ? args[1] : args[0];
}

const defaultHelp = new Help();

/** A command not loaded has no options to show: its term is the list's. */
function termOf(command: Command): string {
  return Object.hasOwn(COMMANDS, command.name())
    ? COMMANDS[command.name() as CommandName].term
    : defaultHelp.subcommandTerm(command);
}

/**
 * Commands added with addCommand inherit neither exitOverride nor the output settings. Without
 * exitOverride commander exits 1 itself on a bad option of a subcommand, before main can give usage
 * errors their exit code (2, see errors.ts). Commander prints its own error lines, quoting the value
 * it refused: they are cut and their control characters shown, as every other message is.
 */
function configureUsageErrors(command: Command): void {
  command.exitOverride().configureOutput({ outputError: (text, write) => write(usageErrorText(text)) });
  for (const sub of command.commands) configureUsageErrors(sub);
}

/** A value commander quotes ('…'), when long: a whole file pasted by mistake, say. */
const LONG_QUOTED_VALUE = /'([^'\n]{81,})'/g;
/** For a value holding a quote itself, which the pattern cannot tell from the text around it. */
const MAX_LINE = 600;

/** Commander's error text with each long value it quotes cut, each line at most MAX_LINE characters. */
function usageErrorText(text: string): string {
  const lines = text.split("\n").map((line) => {
    const cut = line.replace(LONG_QUOTED_VALUE, (_, value: string) => `'${truncate(value, 80)}'`);
    return truncate(cut, MAX_LINE);
  });
  return showControls(lines.join("\n"));
}
