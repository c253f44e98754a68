-- Gate: no roll-up left unfinished. A marker (ops.feed_cursors, feed 'rollup') is written
-- before bars are merged and cleared after their daily bars and continuous series are
-- rebuilt (cbi.feeds.rollups); one still there means a run died in between. The next feed
-- command finishes it. Rows: the pending markers, at most five.
SELECT cursor_key AS root, details AS pending_dates, updated_at AS since
FROM ops.feed_cursors
WHERE feed = 'rollup'
ORDER BY cursor_key
LIMIT 5
