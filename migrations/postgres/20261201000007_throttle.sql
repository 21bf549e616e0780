-- Counters for rate limits and lockouts that must hold across nodes: hits
-- of one key (an IP, an account, an account from one IP) per fixed window,
-- read as a sliding window over the current and the previous one.
CREATE TABLE throttle_counters (
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    window_start  BIGINT NOT NULL,
    hits          BIGINT NOT NULL,
    PRIMARY KEY (scope, key, window_start)
);
CREATE INDEX throttle_counters_window ON throttle_counters (window_start);
