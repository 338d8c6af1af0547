"""The engine: the network's one forward loop and one backward loop, and the checks of its inputs."""
