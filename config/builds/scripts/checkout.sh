# shellcheck shell=sh
# The checkout step's git work on the worker, as one remote command (config/builds/checkout.py).
# It does what Buildbot's Git step does with mode=full, method=fresh: a clone kept between
# builds is cleaned of every untracked and ignored file, the branch is fetched (only what
# is new) and the pushed commit checked out on a branch of the same name; a directory with
# no clone, or one git cannot clean, is emptied and cloned afresh.
# What an earlier build left in the clone is not trusted (config/builds/isolation.py): the
# clone's own configuration, hooks and alternates are reset before git reads them, and a
# .git that is not a plain directory is thrown away. The build's home and temporary
# directory (beside the tree) start empty.
# Arguments: the repository, the branch (HEAD: the repository's default branch), the
# commit to check out (empty: the branch's newest).
# stdout carries one line, "revision <sha>": the commit checked out.
# Exit status: 0 done, 3 the clone failed, 4 the fetch failed, 5 no such commit.
set -u
repository=$1 branch=$2 revision=$3
exec 3>&1 1>&2
set -x
rm -rf ../home ../tmp && mkdir ../home ../tmp
trusted_git_dir() {
    [ -d .git ] && [ ! -L .git ] && [ -d .git/objects ] && [ ! -L .git/objects ] || return 1
    rm -rf .git/hooks .git/info .git/config.worktree .git/worktrees .git/commondir \
        .git/objects/info/alternates .git/objects/info/http-alternates || return 1
    mkdir .git/hooks || return 1
    # A git killed mid-way (its build cancelled, stopped or timed out) leaves its locks,
    # and every later checkout here would fail on them. A build directory holds one
    # build at a time, so a lock found as a build starts is an earlier build's.
    rm -f .git/*.lock && find .git/refs -name '*.lock' -delete || return 1
    printf '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n' \
        >.git/config
}
if ! { trusted_git_dir && git clean -f -f -d -x; }; then
    chmod -R u+rwX . 2>/dev/null
    find . -mindepth 1 -delete
    git clone --progress "$repository" . || exit 3
fi
git fetch -f "$repository" "$branch" || exit 4
# On a branch of the push's name; as with the Git step, a name git refuses (HEAD among
# them) does not fail the checkout, which is then left detached.
git checkout -f -B "$branch" "${revision:-FETCH_HEAD}" 2>/dev/null ||
    git checkout -f "${revision:-FETCH_HEAD}" || exit 5
echo "revision $(git rev-parse HEAD)" >&3
