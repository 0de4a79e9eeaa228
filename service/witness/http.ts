/**
 * The witness's HTTP face (c2sp.org/tlog-witness): `POST /add-checkpoint`
 * and nothing else but a plain-text `GET /` naming the witness's key.
 * `createWitnessApp` builds the app and never listens (scripts/witness.ts does).
 *
 * Status codes are the spec's: 200 with cosignature lines; 400 malformed or
 * old size above the checkpoint's; 403 no trusted log signature; 404 unknown
 * origin; 409 stale old size (body `<size>\n`, `text/x.tlog.size`) or a
 * different root at the same size; 422 consistency proof does not verify.
 * Beyond the spec: 413 body too large, 405 wrong method, 500 only for our own
 * failure (a save that could not be made durable), after which nothing was cosigned.
 * Error bodies are one line of plain text, never a stack trace.
 */
import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import type { Logger } from "pino";
import { formatTlogSize, MAX_ADD_CHECKPOINT_BODY, TLOG_SIZE_CONTENT_TYPE } from "../format/tlog-witness";
import { WitnessError, type Witness, type WitnessErrorCode } from "./witness";

const STATUS: Record<WitnessErrorCode, number> = {
  MALFORMED: 400,
  OLD_SIZE_TOO_LARGE: 400,
  SIGNATURE_UNVERIFIED: 403,
  UNKNOWN_ORIGIN: 404,
  OLD_SIZE_MISMATCH: 409,
  ROOT_MISMATCH: 409,
  PROOF_INVALID: 422,
};

/** Sets the header with Node's setHeader and sends bytes, so Express adds no charset: Tessera's client wants `text/x.tlog.size` exactly. */
function sendText(res: express.Response, status: number, text: string, type = "text/plain; charset=utf-8"): void {
  res.status(status).setHeader("Content-Type", type);
  res.send(Buffer.from(text.endsWith("\n") ? text : `${text}\n`, "utf8"));
}

export function createWitnessApp(deps: { witness: Witness; logger: Logger }): express.Express {
  const { witness, logger } = deps;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  // Any content type: the spec names none for the request.
  const raw = express.raw({ type: () => true, limit: MAX_ADD_CHECKPOINT_BODY, inflate: false });

  const addCheckpoint: RequestHandler = async (req, res) => {
    const body: Uint8Array = Buffer.isBuffer(req.body) ? req.body : new Uint8Array(0);
    try {
      const out = await witness.addCheckpoint(body);
      logger.info({ origin: out.origin, oldSize: out.oldSize, size: out.size }, "cosigned");
      sendText(res, 200, out.cosignatures);
    } catch (e) {
      if (!(e instanceof WitnessError)) throw e;
      const status = STATUS[e.code];
      // A refused split view or bad proof may be evidence of log misbehaviour: log it loudly.
      const level = e.code === "ROOT_MISMATCH" || e.code === "PROOF_INVALID" ? "warn" : "info";
      logger[level]({ code: e.code, status, latestSize: e.latestSize }, e.message);
      if (e.code === "OLD_SIZE_MISMATCH" && e.latestSize !== undefined) sendText(res, status, formatTlogSize(e.latestSize), TLOG_SIZE_CONTENT_TYPE);
      else sendText(res, status, e.message);
    }
  };

  app.post("/add-checkpoint", raw, addCheckpoint);
  app.all("/add-checkpoint", (_req, res) => {
    res.set("Allow", "POST");
    sendText(res, 405, "add-checkpoint takes POST");
  });
  app.get("/", (_req, res) => sendText(res, 200, `${witness.cosignerKey}\n`));
  app.use((_req, res) => sendText(res, 404, "not found"));

  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    const status = typeof err === "object" && err !== null && "status" in err && typeof err.status === "number" ? err.status : 500;
    if (status === 413) return sendText(res, 413, `body exceeds ${MAX_ADD_CHECKPOINT_BODY} bytes`);
    if (status >= 400 && status < 500) return sendText(res, status, "bad request");
    logger.error({ err }, "add-checkpoint failed; nothing was cosigned");
    sendText(res, 500, "internal error; nothing was cosigned");
  };
  app.use(onError);
  return app;
}
