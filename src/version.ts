declare const __GUILD_FS_VERSION__: string | undefined;

/** Set by the build from package.json; null when run from source. */
export const VERSION: string | null = typeof __GUILD_FS_VERSION__ === 'string' ? __GUILD_FS_VERSION__ : null;
