/**
 * A failure as the tool reports it: the exact stderr text and exit code. iproute2 exits 2 for a
 * kernel (netlink) error and 1 for its own checks; parse errors exit 255.
 */
export class ToolError extends Error {
  override name = 'ToolError';
  constructor(
    readonly stderr: string,
    readonly exitCode: number,
    /** What the tool printed before it failed (ip's JSON dump opens its array first). */
    readonly stdout = '',
  ) {
    super(stderr);
  }
}

/** `RTNETLINK answers: File exists`: an errno without an extended ack. */
export const rtnetlink = (errno: string): ToolError => new ToolError(`RTNETLINK answers: ${errno}`, 2);
/** `Error: ipv4: Address already assigned.`: the kernel's extended ack message. */
export const extack = (message: string): ToolError => new ToolError(`Error: ${message}`, 2);
export const noDevice = (name: string): ToolError => new ToolError(`Cannot find device "${name}"`, 1);
export const garbage = (word: string): ToolError =>
  new ToolError(`Error: either "dev" is duplicate, or "${word}" is a garbage.`, 255);
