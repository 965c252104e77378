"""``keras.models``: Model, Sequential, the functional Model, loading and cloning."""
from lamina.keras.models.model import Model
from lamina.keras.models.functional import Functional
from lamina.keras.models.sequential import Sequential
from lamina.keras.models.cloning import clone_model, model_from_json
from lamina.keras.saving import load_model, save_model

__all__ = ["Model", "Functional", "Sequential", "load_model", "save_model", "clone_model", "model_from_json"]
