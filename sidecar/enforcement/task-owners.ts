// Tasks are bound to the caller that created them: the sidecar learns each task id from the answer to
// a task-augmented call and the grant that made it; tasks/get, tasks/result and tasks/cancel for a
// task of another caller (or one this sidecar never saw created) are answered as for a task that does
// not exist, and tasks/list shows a caller only its own. Bounded: the oldest bindings go first.
export class TaskOwners {
  private readonly owners = new Map<string, string>();
  private readonly limit: number;

  constructor(limit = 100_000) {
    this.limit = limit;
  }

  bind(taskId: string, grant: string): void {
    if (this.owners.has(taskId)) return; // the first creator keeps it
    if (this.owners.size >= this.limit) this.owners.delete(this.owners.keys().next().value as string);
    this.owners.set(taskId, grant);
  }

  owns(taskId: string, grant: string): boolean {
    return this.owners.get(taskId) === grant;
  }
}
