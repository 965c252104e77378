"""``keras.models``: Model, Sequential, the functional Model, and loading."""
from lamina.keras.models.model import Model
from lamina.keras.models.functional import Functional
from lamina.keras.models.sequential import Sequential
from lamina.keras.saving import load_model, save_model

__all__ = ["Model", "Functional", "Sequential", "load_model", "save_model"]
