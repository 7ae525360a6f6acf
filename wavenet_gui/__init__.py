"""wavenet-gui: train an unconditioned WaveNet on your own audio and listen to what it makes."""

__version__ = "0.1.0"
