// The baseline of http.bench.ts: Express 5 serving fixed JSON, nothing else.
import express from 'express';

const app = express();
const body = process.env.BODY ?? '{}';
app.get('/health', (_req, res) => res.json({ status: 'ok' }));
app.get('/connections/:id', (_req, res) => res.type('application/json').send(body));
app.listen(Number(process.env.PORT), '127.0.0.1');
