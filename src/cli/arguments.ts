// Option parsers shared by commands: each refuses a bad value with commander's one-line error.
import { InvalidArgumentError } from "commander";
import { isValidAccountId } from "../plugchat/index.js";

/** `--account <id>`: a valid account id, before it reaches any query. */
export function accountIdArgument(value: string): string {
  if (!isValidAccountId(value)) {
    throw new InvalidArgumentError('not a Plugchat account id (1 to 128 letters, digits, "-" or "_")');
  }
  return value;
}
