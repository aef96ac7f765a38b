// Which workers `guild-fs run` starts when it is given no command: the board's worker profiles
// (front matter `agents:`, parsed and validated in board/front-matter.ts). Each profile becomes
// `parallel` workers named `<profile>-1..N`, each running the profile's argv with its caps.
//
// The runner's interface:
//   profilesToRun(settings, { profile })   the profiles to start (all, or the one named);
//                                           exit 2 (EPROFILE) for a name the board does not have
//                                           or a board that names none
//   requireProfilesTrusted(guild, board, profiles)
//                                           exit 2 (EUNTRUSTED, ACTIVE_TASKS.md:<line of its
//                                           command>) unless this clone trusts every one's command
//   workerNames(profile)                   ['claude-1', 'claude-2', ...]
// A command given on run's own command line (`run -- CMD`) is the person's, not the board's: it
// needs no trust and does not go through here.
import { agentProfiles, type AgentProfile } from '../board/front-matter.js';
import type { Board, Settings } from '../board/types.js';
import { UsageError } from '../errors.js';
import type { Guild } from '../tasks/guild.js';
import { profileKey, requireTrusted } from '../workspace/trust.js';

export type Profile = AgentProfile;

export function profilesToRun(settings: Settings, options: { profile?: string } = {}): Profile[] {
  const profiles = agentProfiles(settings);
  if (options.profile === undefined) {
    if (profiles.length === 0) throw new UsageError('the board names no worker profiles (front matter agents:) and no command was given: guild-fs run -- CMD [ARG...], or add agents: to the front matter', {}, 'EPROFILE');
    return profiles;
  }
  const named = profiles.find((profile) => profile.name === options.profile);
  if (!named) {
    const known = profiles.length === 0 ? 'the board names none (front matter agents:)' : `the board's: ${profiles.map((profile) => profile.name).join(', ')}`;
    throw new UsageError(`no worker profile named ${JSON.stringify(options.profile)}; ${known}`, { profile: options.profile, profiles: profiles.map((profile) => profile.name) }, 'EPROFILE');
  }
  return [named];
}

/** Refuses before any worker starts, so that an untrusted profile claims nothing and runs nothing. */
export function requireProfilesTrusted(guild: Guild, board: Pick<Board, 'settings' | 'text'>, profiles: readonly Profile[]): void {
  requireTrusted(guild, board.settings, board.text, profiles.map((profile) => profileKey(profile.name)), 'run claimed nothing and ran nothing');
}

export function workerNames(profile: Pick<Profile, 'name' | 'parallel'>): string[] {
  return Array.from({ length: profile.parallel }, (_, i) => `${profile.name}-${i + 1}`);
}
