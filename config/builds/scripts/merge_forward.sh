# shellcheck shell=sh
# MergeForward's git work on the worker, as one remote command (config/builds/merge.py): one
# round trip between master and worker instead of five.
# Arguments: the case (release, queue or merge), the repository, the target branch to merge,
# the merge commit's message, and optionally the target's commit to merge (a triggered
# build merges what its trigger merged, though the target moved since). Git's own output
# goes to the log (stderr); stdout carries only these lines, which the step reads, all at
# the end (each switch between stderr and stdout is one more write of the log on the
# master):
#   target <sha>      the target's commit merged (or compared with)
#   base <sha>        the merge base of the pushed commit and the target
#   merged <sha>      the merge commit
#   conflict <path>   a file the merge left in conflict
# Exit status: 0 done, 3 the target cannot be fetched, 4 no history in common,
# 5 the merge failed (and was undone), 6 the given commit of the target cannot be fetched.
set -u
case=$1 repository=$2 target=$3 message=$4 pinned=${5:-}
exec 3>&1 1>&2
printed=
print() { printed="$printed$*
"; }
trap 'printf %s "$printed" >&3' EXIT
set -x
git fetch "$repository" "$target" || exit 3
into=${pinned:-$(git rev-parse FETCH_HEAD)}
# A pinned older commit of the target came with its history, unless the target was
# rewritten; the newest is the one just fetched.
[ -z "$pinned" ] || git cat-file -e "$into^{commit}" 2>/dev/null ||
    git fetch "$repository" "$into" || exit 6
print target "$into"
base=$(git merge-base HEAD "$into") || exit 4
print base "$base"
[ "$case" = merge ] || exit 0
# Dated like the pushed commit, the same push always gives the same merge commit.
GIT_AUTHOR_DATE=$(git log -1 --format=%cd --date=raw HEAD)
GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
export GIT_AUTHOR_DATE GIT_COMMITTER_DATE
if git merge --no-ff -m "$message" "$into"; then
    print merged "$(git rev-parse HEAD)"
    exit 0
fi
printed="$printed$(git diff --name-only --diff-filter=U | sed 's/^/conflict /')
"
git merge --abort
exit 5
