import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import type { ChallengerState } from '../cluster/messages.js';
import type { RolloutCall, WorkerModels } from '../cluster/topics.js';
import type { ChallengerRouting } from '../data-plane/challenger-routing.js';
import type { ServedModel } from '../data-plane/model.js';
import { MODEL_COMPANION_FILES } from '../data-plane/model-card-file.js';
import { discardModelSnapshot, tryModelSnapshot } from '../data-plane/model-snapshot.js';
import { ModelNotReadyError } from '../errors.js';
import { ROLLOUT_HISTORY_LENGTH, type ChallengerInfo, type RolloutEvent } from '../schemas/challenger.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The challenger beside the champion, and this worker's record of rollout changes. */
    rollout: RolloutState;
  }
}

export interface RolloutState {
  /** The challenger now and how it takes part; null when there is none. */
  challenger(): ChallengerInfo | null;
  /** This worker's last rollout changes, oldest first. */
  history(): RolloutEvent[];
}

const identity = (model: ServedModel) => ({ version: model.version, sha256: model.sha256 });

/**
 * The challenger's life in each worker: loaded at start from CHALLENGER_MODEL_PATH (a file that
 * fails the checks is logged and the champion serves alone), and loaded, dropped or promoted when
 * an admin call gathers every worker on a challenger topic. Each change is logged with who asked
 * and when, and kept for GET /model. After a promotion the new champion's snapshot goes to the
 * cluster primary, so a worker started later serves it rather than MODEL_PATH's.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const { dataPlane } = app;
    const history: RolloutEvent[] = [];

    const challengerInfo = (): ChallengerInfo | null => {
      const challenger = dataPlane.challenger;
      return challenger ? { ...identity(challenger), ...dataPlane.challengerRouting } : null;
    };
    const models = (): WorkerModels => {
      const champion = dataPlane.model;
      if (!champion) throw new ModelNotReadyError();
      return { champion: identity(champion), challenger: challengerInfo() };
    };
    const record = (action: RolloutEvent['action'], call: RolloutCall): WorkerModels => {
      const now = models();
      history.push({ action, at: call.at, by: { address: call.address, request_id: call.request_id }, ...now });
      if (history.length > ROLLOUT_HISTORY_LENGTH) history.splice(0, history.length - ROLLOUT_HISTORY_LENGTH);
      app.log.info({ rollout: action, by: call, champion: now.champion, challenger: now.challenger }, `rollout: ${action}`);
      return now;
    };
    app.decorate('rollout', { challenger: challengerInfo, history: () => [...history] });

    const load = async (path: string, routing: ChallengerRouting) => {
      try {
        const model = await dataPlane.loadChallenger(path, routing);
        for (const warning of model.warnings) app.log.warn({ modelPath: path, modelVersion: model.version, role: 'challenger' }, warning);
        return model;
      } catch (error) {
        app.log.error({ err: error, modelPath: path, championVersion: dataPlane.model?.version }, 'challenger load failed; the champion serves as before');
        throw error;
      }
    };

    /**
     * The challenger this worker holds now as the primary is to know it: its file as a snapshot where
     * one can be written (the file at the admin call's path may change or go), so a worker started
     * later holds the same. The primary deletes the snapshots no worker will load any more.
     */
    const challengerNow = async (): Promise<{ challenger: ServedModel | undefined; state: ChallengerState | null }> => {
      const challenger = dataPlane.challenger;
      if (!challenger) return { challenger, state: null };
      const snapshot = config.MODEL_SNAPSHOT_DIR
        ? await tryModelSnapshot(challenger, config.MODEL_SNAPSHOT_DIR, MODEL_COMPANION_FILES, (error) =>
            app.log.error({ err: error, modelPath: challenger.path }, 'no snapshot of the challenger could be written; a worker started later loads it from its path'),
          )
        : null;
      return { challenger, state: { path: snapshot ?? challenger.path, ...dataPlane.challengerRouting } };
    };
    /**
     * The state, while the challenger it describes is still the one held; undefined (and its copy
     * removed) when another change came during the copy: that change tells its own, and whichever
     * copy finishes last must not undo it.
     */
    const stillHeld = ({ challenger, state }: Awaited<ReturnType<typeof challengerNow>>): ChallengerState | null | undefined => {
      if (dataPlane.challenger === challenger) return state;
      if (state && state.path !== challenger?.path) void discardModelSnapshot(state.path).catch(() => undefined);
      return undefined;
    };
    /** In a cluster, tells the primary the challenger this worker holds after a change. */
    const reportChallenger = async (): Promise<void> => {
      if (!app.workers.clustered) return;
      const state = stillHeld(await challengerNow());
      if (state !== undefined) app.workers.challengerStateChanged(state);
    };

    /**
     * After a promotion, the new champion's snapshot and the new challenger (the old champion) go to
     * the primary in one notice, both copies written first: between two notices a worker started
     * would get the promoted model as champion and as challenger. Each part only while it still
     * holds (stillHeld; a reload during the copies tells its own).
     */
    const reportPromotion = async (champion: ServedModel): Promise<void> => {
      const snapshot = config.MODEL_SNAPSHOT_DIR
        ? await tryModelSnapshot(champion, config.MODEL_SNAPSHOT_DIR, MODEL_COMPANION_FILES, (error) =>
            app.log.error({ err: error, modelPath: champion.path }, 'no snapshot of the promoted model could be written; a worker started later loads MODEL_PATH'),
          )
        : undefined;
      const challenger = stillHeld(await challengerNow());
      if (snapshot !== undefined && dataPlane.model === champion) return app.workers.modelSnapshotWritten(snapshot, challenger);
      if (snapshot) void discardModelSnapshot(snapshot).catch(() => undefined);
      if (challenger !== undefined) app.workers.challengerStateChanged(challenger);
    };

    // A worker still starting takes a change once it has loaded CHALLENGER_MODEL_PATH, or that load would undo it.
    const AFTER_START_UP = { afterStartUp: true };
    app.workers.onCollect('challenger-load', async ({ path, mode, share, call }) => {
      await load(path, { mode, share });
      await reportChallenger();
      return record('load', call);
    }, AFTER_START_UP);
    app.workers.onCollect('challenger-drop', async ({ call }) => {
      await dataPlane.dropChallenger();
      await reportChallenger();
      return record('drop', call);
    }, AFTER_START_UP);
    app.workers.onCollect('challenger-promote', async ({ call, sha256 }) => {
      const before = dataPlane.model?.sha256;
      const last = [...history].reverse().find((event) => event.action === 'promote');
      const { champion, changed } = await dataPlane.promote(sha256);
      if (!changed) {
        // A repeated call, or one resent after some workers timed out: this worker took it before.
        app.log.info({ rollout: 'promote', by: call, champion: identity(champion) }, 'rollout: the model asked for is the champion already; nothing changed');
        return { ...models(), change: 'none' };
      }
      // Promoting back the champion that the last promotion replaced undoes it.
      const rollback = last !== undefined && last.challenger?.sha256 === champion.sha256 && last.champion.sha256 === before;
      if (app.workers.clustered) await reportPromotion(champion);
      const change = rollback ? 'rollback' : 'promote';
      return { ...record(change, call), change };
    }, AFTER_START_UP);

    if (config.CHALLENGER_MODEL_PATH !== undefined) {
      const path = config.CHALLENGER_MODEL_PATH;
      // After the data plane's own onReady: the champion is loaded first.
      app.addHook('onReady', async () => {
        try {
          const model = await load(path, { mode: config.CHALLENGER_MODE, share: config.CHALLENGER_SHARE });
          app.log.info({ modelPath: path, modelVersion: model.version, mode: config.CHALLENGER_MODE, share: config.CHALLENGER_SHARE }, 'challenger loaded');
        } catch {
          // Logged by load: a challenger never keeps the champion from serving.
        }
      });
    }
  },
  { name: 'challenger', dependencies: ['data-plane', 'worker-group'] },
);
