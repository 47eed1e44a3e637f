/**
 * The port through which the backend registry learns which generation servers to build. It is defined here, on the
 * backends side, so backends never import a service: GenerationSettingsService implements it and container.ts hands it in.
 */

/** The generation server settings in force: saved values (from the web page) over configuration over defaults. */
export interface EffectiveGenerationSettings {
  sdnext: {
    baseUrl: string | null;
    username: string | null;
    password: string | null;
    timeoutMs: number;
    defaultSteps: number;
    defaultSampler: string;
    defaultCfgScale: number;
  };
  comfyui: { baseUrl: string | null; checkpoint: string | null; timeoutMs: number };
}

/** Reads the settings in force; asked again on each use because the web page can change them at any time. */
export interface BackendSettingsSource {
  effective(): Promise<EffectiveGenerationSettings>;
}
