// Every error guild-fs throws on purpose. Library code throws these; the CLI's one handler
// (cli/output.ts) maps them to an exit code and the --json error envelope.

export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  held: 3,
  noSuchTask: 4,
  nothingToDo: 5,
  checkFailed: 6,
  /** The git remote could not be reached; nothing was done (SPEC section 7). */
  remoteUnreachable: 7,
  /** `run --no-wait`: the agent command cannot work now (not logged in, out of quota); its tries were given back (SPEC section 8). */
  agentUnavailable: 8,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class GuildError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly data: Record<string, unknown>;

  constructor(code: string, exitCode: ExitCode, message: string, data: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.data = data;
  }

  toJSON(): { code: string; message: string; data?: Record<string, unknown> } {
    const json: { code: string; message: string; data?: Record<string, unknown> } = { code: this.code, message: this.message };
    if (Object.keys(this.data).length > 0) json.data = this.data;
    return json;
  }
}

/** Bad command-line input: a missing agent, an ID or name that does not validate. Exit 2. */
export class UsageError extends GuildError {
  constructor(message: string, data: Record<string, unknown> = {}, code = 'EUSAGE') {
    super(code, ExitCode.usage, message, data);
  }
}

/**
 * A file that cannot be understood, or a write that would make it wrong. The message always
 * starts with `file:line:` so that editors and terminals can jump to it. Exit 2.
 */
export class FileError extends GuildError {
  readonly file: string;
  readonly line: number | undefined;
  constructor(code: string, file: string, line: number | undefined, what: string, data: Record<string, unknown> = {}) {
    super(code, ExitCode.usage, `${line === undefined ? file : `${file}:${line}`}: ${what}`, { file, line, ...data });
    this.file = file;
    this.line = line;
  }
}

/** The task or lock belongs to someone else. Exit 3. */
export class HeldError extends GuildError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('EHELD', ExitCode.held, message, data);
  }
}

/** Exit 4. */
export class NoSuchTaskError extends GuildError {
  constructor(id: string, data: Record<string, unknown> = {}) {
    super('ENOTASK', ExitCode.noSuchTask, `no such task: ${id}`, { task: id, ...data });
  }
}

/** Nothing claimable, or the task is not in a state the command can act on. Exit 5. */
export class NothingToDoError extends GuildError {
  constructor(message: string, data: Record<string, unknown> = {}, code = 'ENOTHING') {
    super(code, ExitCode.nothingToDo, message, data);
  }
}

/** A check that found problems (doctor, replay --check). Exit 6. */
export class CheckFailedError extends GuildError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('ECHECK', ExitCode.checkFailed, message, data);
  }
}

/** Something other than the board could not be had now (a git operation under way). Exit 1: retrying later may work. */
export class BusyError extends GuildError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('EBUSY', ExitCode.unexpected, message, data);
  }
}

/** A git command guild-fs ran failed in a way it cannot explain better. Exit 1. */
export class GitError extends GuildError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('EGIT', ExitCode.unexpected, message, data);
  }
}

/** `complete` of a worktree with uncommitted changes, without --commit-all. Exit 2. */
export class DirtyWorktreeError extends GuildError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('EDIRTY', ExitCode.usage, message, data);
  }
}

/** The board's `verify` command failed in the task's worktree: the work is not done. Exit 6. */
export class VerifyFailedError extends GuildError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('EVERIFY', ExitCode.checkFailed, message, data);
  }
}

/**
 * The board kept changing (a person saving, again and again) for as long as a write may keep
 * trying: nothing was written. Exit 3, as for anything held by someone else (SPEC section 1: a
 * busy board is never exit 1, which callers read as a bug); trying again later works.
 */
export class BoardChangedError extends GuildError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('ECHANGED', ExitCode.held, message, data);
  }
}

/**
 * The board mutex was held by another writer for as long as a write may wait for it. Exit 3:
 * the board is busy, not broken (SPEC section 1). The code stays `EBUSY`, as before.
 */
export class BoardBusyError extends GuildError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('EBUSY', ExitCode.held, message, data);
  }
}

/** The board's git remote could not be reached (no network, no server, refused): nothing was claimed or changed. Exit 7. */
export class RemoteUnreachableError extends GuildError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('EREMOTE', ExitCode.remoteUnreachable, message, data);
  }
}

/** A command that needs the board's `remote:` on a board without one. Exit 2. */
export class NoRemoteError extends GuildError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('ENOREMOTE', ExitCode.usage, message, data);
  }
}

/**
 * `sync --remote` met a conflict the merge drivers could not settle (a file other than the board
 * and the log changed on both sides): the merge was aborted and nothing changed. Exit 1.
 */
export class SyncConflictError extends GuildError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('ECONFLICT', ExitCode.unexpected, message, data);
  }
}
