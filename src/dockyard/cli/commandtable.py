"""Every docker command path and the module that implements it.

``COMMANDS`` maps a module of ``dockyard.cli.commands`` to its one-line summary and the
command paths it answers to, in the order ``--help`` lists them as aliases (``ps`` is
``container ls``, ``container list``, ``container ps`` and ``ps``). The first path inside a
management group is the name the group's help lists. A module that does not exist yet makes
its paths answer "not implemented yet"; ``--help`` lists only the commands that exist.
"""

from __future__ import annotations

COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "attach": ("Attach local standard input, output, and error streams to a running container",
               ("container attach", "attach")),
    "build": ("Build an image from a Dockerfile", ("image build", "build", "builder build")),
    "builder_prune": ("Remove build cache", ("builder prune",)),
    "commit": ("Create a new image from a container's changes", ("container commit", "commit")),
    "container_inspect": ("Display detailed information on one or more containers", ("container inspect",)),
    "container_prune": ("Remove all stopped containers", ("container prune",)),
    "cp": ("Copy files/folders between a container and the local filesystem", ("container cp", "cp")),
    "create": ("Create a new container", ("container create", "create")),
    "diff": ("Inspect changes to files or directories on a container's filesystem", ("container diff", "diff")),
    "events": ("Get real time events from the server", ("system events", "events")),
    "exec": ("Execute a command in a running container", ("container exec", "exec")),
    "export": ("Export a container's filesystem as a tar archive", ("container export", "export")),
    "history": ("Show the history of an image", ("image history", "history")),
    "image_import": ("Import the contents from a tarball to create a filesystem image", ("image import", "import")),
    "image_inspect": ("Display detailed information on one or more images", ("image inspect",)),
    "image_prune": ("Remove unused images", ("image prune",)),
    "images": ("List images", ("image ls", "image list", "images")),
    "info": ("Display system-wide information", ("system info", "info")),
    "inspect": ("Return low-level information on Docker objects", ("inspect",)),
    "kill": ("Kill one or more running containers", ("container kill", "kill")),
    "load": ("Load an image from a tar archive or STDIN", ("image load", "load")),
    "login": ("Authenticate to a registry", ("login",)),
    "logout": ("Log out from a registry", ("logout",)),
    "logs": ("Fetch the logs of a container", ("container logs", "logs")),
    "network_connect": ("Connect a container to a network", ("network connect",)),
    "network_create": ("Create a network", ("network create",)),
    "network_disconnect": ("Disconnect a container from a network", ("network disconnect",)),
    "network_inspect": ("Display detailed information on one or more networks", ("network inspect",)),
    "network_ls": ("List networks", ("network ls", "network list")),
    "network_prune": ("Remove all unused networks", ("network prune",)),
    "network_rm": ("Remove one or more networks", ("network rm", "network remove")),
    "pause": ("Pause all processes within one or more containers", ("container pause", "pause")),
    "port": ("List port mappings or a specific mapping for the container", ("container port", "port")),
    "ps": ("List containers", ("container ls", "container list", "container ps", "ps")),
    "pull": ("Download an image from a registry", ("image pull", "pull")),
    "push": ("Upload an image to a registry", ("image push", "push")),
    "rename": ("Rename a container", ("container rename", "rename")),
    "restart": ("Restart one or more containers", ("container restart", "restart")),
    "rm": ("Remove one or more containers", ("container rm", "container remove", "rm")),
    "rmi": ("Remove one or more images", ("image rm", "image remove", "rmi")),
    "run": ("Create and run a new container from an image", ("container run", "run")),
    "save": ("Save one or more images to a tar archive (streamed to STDOUT by default)", ("image save", "save")),
    "search": ("Search Docker Hub for images", ("search",)),
    "start": ("Start one or more stopped containers", ("container start", "start")),
    "stats": ("Display a live stream of container(s) resource usage statistics", ("container stats", "stats")),
    "stop": ("Stop one or more running containers", ("container stop", "stop")),
    "system_df": ("Show docker disk usage", ("system df",)),
    "system_prune": ("Remove unused data", ("system prune",)),
    "tag": ("Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", ("image tag", "tag")),
    "top": ("Display the running processes of a container", ("container top", "top")),
    "unpause": ("Unpause all processes within one or more containers", ("container unpause", "unpause")),
    "update": ("Update configuration of one or more containers", ("container update", "update")),
    "version": ("Show the Docker version information", ("version",)),
    "volume_create": ("Create a volume", ("volume create",)),
    "volume_inspect": ("Display detailed information on one or more volumes", ("volume inspect",)),
    "volume_ls": ("List volumes", ("volume ls", "volume list")),
    "volume_prune": ("Remove unused local volumes", ("volume prune",)),
    "volume_rm": ("Remove one or more volumes", ("volume rm", "volume remove")),
    "wait": ("Block until one or more containers stop, then print their exit codes", ("container wait", "wait")),
}

GROUPS: dict[str, str] = {
    "builder": "Manage builds",
    "container": "Manage containers",
    "image": "Manage images",
    "network": "Manage networks",
    "system": "Manage Docker",
    "volume": "Manage volumes",
}

COMMON = ("run", "exec", "ps", "build", "pull", "push", "images", "login", "logout", "search", "version", "info")

PATHS: dict[str, str] = {path: module for module, (_, paths) in COMMANDS.items() for path in paths}


def group_commands(group: str) -> list[tuple[str, str]]:
    """(name, module) of the commands a group's help lists: one name per module, sorted."""
    found: dict[str, tuple[str, str]] = {}
    for module, (_, paths) in COMMANDS.items():
        for path in paths:
            head, _, name = path.partition(" ")
            if head == group and name and module not in found:
                found[module] = (name, module)
    return sorted(found.values())


def top_level_commands() -> list[tuple[str, str]]:
    """(name, module) of the commands callable without a group, sorted."""
    return sorted((path, module) for path, module in PATHS.items() if " " not in path)
