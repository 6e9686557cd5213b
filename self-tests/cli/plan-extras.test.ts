/**
 * cli/plan-extras.ts: where `npm run plan` says kind and istioctl will come from, in the order
 * resolveTool (helpers/run/tools.ts) looks: the tools:build binaries only with IMAGES=local.
 */
import { describe, expect, test } from 'vitest';
import { planExtras } from '../../cli/plan-extras.ts';
import { LOCAL_ISTIO_VERSION } from '../../helpers/run/local-images.ts';
import { pins } from '../../helpers/run/pins.ts';
import { loadSettings } from '../../helpers/run/settings.ts';
import { builtToolPath, cachePath } from '../../helpers/run/tools.ts';

describe('the tools lines of the plan', () => {
  test('published: PATH, the cache, the download; local: the built one before the download', () => {
    const published = loadSettings({ TOOLS_CACHE_DIR: '/c' });
    const [kind] = planExtras(published).tools;
    expect(kind).toContain(`kind ${pins.kind}: PATH, else ${cachePath('/c', 'kind', pins.kind)}, else https://`);
    expect(planExtras(published).tools.join('\n')).not.toContain('tools:build');

    const local = loadSettings({ TOOLS_CACHE_DIR: '/c', IMAGES: 'local' });
    const [kindLocal, istioctlLocal] = planExtras(local).tools;
    expect(kindLocal).toContain(`, else ${builtToolPath('kind', pins.kind)} (npm run tools:build), else https://`);
    expect(istioctlLocal).toContain(`, else ${builtToolPath('istioctl', LOCAL_ISTIO_VERSION)} (npm run tools:build), else https://`);
  });
});
