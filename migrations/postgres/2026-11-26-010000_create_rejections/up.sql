-- Reports refused at the webhook, kept for diagnosis (bounded: db::rejections::KEPT).
CREATE TABLE rejections (
    id BIGSERIAL PRIMARY KEY,
    received_at BIGINT NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    field TEXT,
    network_id BIGINT,
    node_mac TEXT,
    body_prefix TEXT NOT NULL
);
