-- Every feed watermark: how far each feed has committed.
SELECT feed, cursor_key, watermark, updated_at
FROM ops.feed_cursors
ORDER BY feed, cursor_key
