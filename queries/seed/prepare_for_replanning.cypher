// name: prepare_for_replanning
// description: Resample the indexes, wait for it, then drop cached plans, so the next batches are planned with current statistics. Seeds call it between steps: right after a load, the Post(id) index still has the sample it had when empty, and the likes query was then planned as a full index scan per row (2,000 likes: 15 s instead of 0.5 s).
// params: none
// returns: nothing
// mode: write
CALL db.prepareForReplanning(300)
