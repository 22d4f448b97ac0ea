// The satellite's configuration lives apart (no Foundation, for the lean `satellite run`); users of
// the satellite's library get its sections with the one import they had.
@_exported import SatelliteSettings
