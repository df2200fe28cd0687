# shellcheck shell=sh
# The checkout step's git work on the worker, as one remote command (config/builds/checkout.py).
# It does what Buildbot's Git step does with mode=full, method=fresh: a clone kept between
# builds is cleaned of every untracked and ignored file, the branch is fetched (only what
# is new) and the pushed commit checked out on a branch of the same name; a directory with
# no clone, or one git cannot clean, is emptied and cloned afresh.
# Arguments: the repository, the branch (HEAD: the repository's default branch), the
# commit to check out (empty: the branch's newest).
# stdout carries one line, "revision <sha>": the commit checked out.
# Exit status: 0 done, 3 the clone failed, 4 the fetch failed, 5 no such commit.
set -u
repository=$1 branch=$2 revision=$3
exec 3>&1 1>&2
set -x
if ! { [ -d .git ] && git clean -f -f -d -x; }; then
    find . -mindepth 1 -delete
    git clone --progress "$repository" . || exit 3
fi
git fetch -f "$repository" "$branch" || exit 4
git checkout -f "${revision:-FETCH_HEAD}" || exit 5
# As with the Git step, naming the branch may fail without failing the checkout.
[ "$branch" = HEAD ] || git checkout -B "$branch" || true
echo "revision $(git rev-parse HEAD)" >&3
