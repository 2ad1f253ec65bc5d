// The baseline of http.bench.ts: Express 5 serialising the same JSON object per request, nothing else.
import express from 'express';

const app = express();
const body: unknown = JSON.parse(process.env.BODY ?? '{}');
app.get('/health', (_req, res) => res.json({ status: 'ok' }));
app.get('/connections/:id', (_req, res) => res.json(body));
app.listen(Number(process.env.PORT), '127.0.0.1');
