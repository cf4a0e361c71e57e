using SpineProd.Diagnostics;

namespace SpineProd.Config;

/// <summary>
/// The SPN2xxx codes of the config loader, latest/modifier selection and the config tasks, and for
/// each loader error the SPINE exception class SPINE's own loader raises for the same input (the
/// conformance corpus compares that class). README.md's error table explains each code.
/// </summary>
public static class ConfigErrors
{
    // Loader errors (each maps to a SPINE error class).
    public const string YamlSyntax = "SPN2001";          // ConfigIncludeError: "Error loading <f>: ..."
    public const string ConfigNotFound = "SPN2002";      // ConfigIncludeError: top-level file missing
    public const string IncludeNotFound = "SPN2003";     // ConfigIncludeError: include/!include target missing
    public const string IncludeCycle = "SPN2004";        // ConfigCycleError
    public const string BadDirective = "SPN2005";        // ConfigOperationError: include/override/remove of the wrong type
    public const string NotADictionary = "SPN2006";      // ConfigTypeError: dotted path runs through a non-mapping
    public const string OperationPathMissing = "SPN2007";// ConfigPathError: key+/key- whose parent path is missing
    public const string RemoveFromMissing = "SPN2008";   // ConfigPathError: key- on a missing key
    public const string AppendToDict = "SPN2009";        // ConfigOperationError: key+ on a mapping
    public const string NotACollection = "SPN2010";      // ConfigTypeError: key+/key- on a scalar
    public const string RemovePathMissing = "SPN2011";   // ConfigPathError: remove: of a missing path
    public const string Incompatible = "SPN2012";        // ConfigValidationError: __meta__.compatible_with failed
    public const string BadVersion = "SPN2013";          // ConfigValidationError: a version is not 6 digits
    public const string ModifierConflict = "SPN2014";    // ConfigValidationError: conflicts_with
    public const string RootNotMapping = "SPN2015";      // ConfigTypeError: file is not a mapping
    public const string PathTagNotFound = "SPN2016";     // ConfigIncludeError: !path target missing
    public const string BadTagOrScalar = "SPN2017";      // ConfigIncludeError: unknown tag, bad !tag node, invalid date...
    public const string BadMeta = "SPN2018";             // ConfigTypeError: __meta__ is not a mapping
    public const string NotRegularFile = "SPN2050";      // ConfigIncludeError: a FIFO, device or socket, or larger than the cap

    // Warnings.
    public const string StrictWarn = "SPN2030";          // a strict: warn mode path problem SPINE only warns about
    public const string DuplicateKey = "SPN2031";        // a key written twice in one mapping (last wins)
    public const string InvalidMeta = "SPN2032";         // invalid __meta__ kind/strict/list_append, default used
    public const string RelativeValuePath = "SPN2033";   // a relative path value SPINE would look for in the wrong folder
    public const string ModifierOldest = "SPN2046";      // modifier: no version <= base, oldest used

    // latest, modifiers, config tasks.
    public const string SpineConfigNotFound = "SPN2040";
    public const string DetectorDirNotFound = "SPN2041";
    public const string NoVersionedComponents = "SPN2042";
    public const string UnknownModifier = "SPN2043";
    public const string ModifierVersionNotFound = "SPN2044";
    public const string ModifierFileNotFound = "SPN2045";
    public const string BadTaskInput = "SPN2047";

    private static readonly Dictionary<string, string> Classes = new()
    {
        [YamlSyntax] = "ConfigIncludeError",
        [ConfigNotFound] = "ConfigIncludeError",
        [IncludeNotFound] = "ConfigIncludeError",
        [IncludeCycle] = "ConfigCycleError",
        [BadDirective] = "ConfigOperationError",
        [NotADictionary] = "ConfigTypeError",
        [OperationPathMissing] = "ConfigPathError",
        [RemoveFromMissing] = "ConfigPathError",
        [AppendToDict] = "ConfigOperationError",
        [NotACollection] = "ConfigTypeError",
        [RemovePathMissing] = "ConfigPathError",
        [Incompatible] = "ConfigValidationError",
        [BadVersion] = "ConfigValidationError",
        [ModifierConflict] = "ConfigValidationError",
        [RootNotMapping] = "ConfigTypeError",
        [PathTagNotFound] = "ConfigIncludeError",
        [BadTagOrScalar] = "ConfigIncludeError",
        [BadMeta] = "ConfigTypeError",
        [NotRegularFile] = "ConfigIncludeError",
    };

    /// <summary>The SPINE error class for a loader code (for the corpus JSON); null for non-loader codes.</summary>
    public static string? SpineClass(string code) => Classes.TryGetValue(code, out var c) ? c : null;

    internal static SpineProdException At(string code, string message, SourceMark? mark, string? fallbackFile = null)
        => mark is { } m
            ? new SpineProdException(code, message, m.File, m.Line, m.Column)
            : new SpineProdException(code, message, fallbackFile);
}
