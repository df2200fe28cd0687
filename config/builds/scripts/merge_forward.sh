# shellcheck shell=sh
# MergeForward's git work on the worker, as one remote command (config/builds/merge.py): one
# round trip between master and worker instead of five.
# Arguments: the case (release, queue or merge), the repository, the target branch to merge,
# the merge commit's message. Git's own output goes to the log (stderr); stdout carries
# only these lines, which the step reads:
#   base <sha>        the merge base of the pushed commit and the target
#   merged <sha>      the merge commit
#   conflict <path>   a file the merge left in conflict
# Exit status: 0 done, 3 the target cannot be fetched, 4 no history in common,
# 5 the merge failed (and was undone).
set -u
case=$1 repository=$2 target=$3 message=$4
exec 3>&1 1>&2
set -x
git fetch "$repository" "$target" || exit 3
base=$(git merge-base HEAD FETCH_HEAD) || exit 4
echo "base $base" >&3
[ "$case" = merge ] || exit 0
# Dated like the pushed commit, the same push always gives the same merge commit.
GIT_AUTHOR_DATE=$(git log -1 --format=%cd --date=raw HEAD)
GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
export GIT_AUTHOR_DATE GIT_COMMITTER_DATE
if git merge --no-ff -m "$message" FETCH_HEAD; then
    echo "merged $(git rev-parse HEAD)" >&3
    exit 0
fi
git diff --name-only --diff-filter=U | sed 's/^/conflict /' >&3
git merge --abort
exit 5
