/** What a half-done apply must take back, newest first. */
export class UndoStack {
  private readonly actions: { what: string; undo: () => Promise<unknown> }[] = [];

  push(what: string, undo: () => Promise<unknown>): void {
    this.actions.push({ what, undo });
  }

  get size(): number {
    return this.actions.length;
  }

  /** Undoes everything, best effort; returns what could not be undone. */
  async unwind(): Promise<string[]> {
    const failures: string[] = [];
    for (const action of this.actions.splice(0).reverse()) {
      try {
        await action.undo();
      } catch (error) {
        failures.push(`could not undo ${action.what}: ${(error as Error).message}`);
      }
    }
    return failures;
  }
}
